// What a native .mpy lacks and nomq or the glue needs: the C library functions libnomq.a calls
// (malloc, calloc, free, realloc, mem*, strlen, abort) over the interpreter's mp_fun_table, and fixed
// dicts in static storage. Built only with MICROPY_ENABLE_DYNRUNTIME.
//
// malloc draws from the GC heap. The GC keeps a block alive only through a pointer to its
// start, and nomq may keep only an interior pointer (over-aligned blocks) or none the GC can
// see, so every block is linked into the list of the object it belongs to
// (NOMQ_MP_ALLOCATE_INTO): alive while that object is, collected with it, unlinked by free.
#include <stddef.h>

#include "nomq_mp.h"

void **nomq_mp_alloc_list;

// Whether the last allocation found the heap full: nomq's allocation-failure path aborts
// next, and abort then reports what happened (MemoryError) rather than an internal error.
static bool heap_full;

// 16 bytes, so the payload keeps the GC block's 16-byte alignment. The block's size is the
// GC's business (realloc asks the GC to move it).
typedef struct block {
    struct block *next;    // the next block's start: what keeps it alive
    struct block **pprev;  // the pointer that points at this block
} block_t;

void *malloc(size_t size) {
    if (nomq_mp_alloc_list == NULL) {
        return NULL;  // no owner: nomq sees an allocation failure rather than a block the GC could free
    }
    // gc_realloc: NULL when the heap is full, never a MemoryError raised through nomq's frames.
    block_t *b = mp_fun_table.realloc_(NULL, sizeof(block_t) + size, false);
    heap_full = b == NULL;
    if (b == NULL) {
        return NULL;
    }
    block_t **head = (block_t **)nomq_mp_alloc_list;
    b->next = *head;
    if (b->next != NULL) {
        b->next->pprev = &b->next;
    }
    b->pprev = head;
    *head = b;
    return b + 1;
}

void free(void *ptr) {
    if (ptr == NULL) {
        return;
    }
    block_t *b = (block_t *)ptr - 1;
    *b->pprev = b->next;
    if (b->next != NULL) {
        b->next->pprev = b->pprev;
    }
    mp_fun_table.realloc_(b, 0, false);
}

// Zeroed allocations (Rust's alloc_zeroed at higher optimisation levels).
void *calloc(size_t n, size_t size) {
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    void *p = malloc(n * size);
    if (p != NULL) {
        mp_fun_table.memset_(p, 0, n * size);
    }
    return p;
}

// The GC grows the block in place or moves it (copying the links with the data); a moved
// block's neighbours are pointed at its new place.
void *realloc(void *ptr, size_t size) {
    if (ptr == NULL) {
        return malloc(size);
    }
    block_t *old = (block_t *)ptr - 1;
    block_t *b = mp_fun_table.realloc_(old, sizeof(block_t) + size, true);
    heap_full = b == NULL;
    if (b == NULL) {
        return NULL;  // the old block stays, linked and intact
    }
    if (b != old) {
        *b->pprev = b;
        if (b->next != NULL) {
            b->next->pprev = &b->next;
        }
    }
    return b + 1;
}

void *memcpy(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memmove(void *dst, const void *src, size_t n) {
    return mp_fun_table.memmove_(dst, src, n);
}

void *memset(void *s, int c, size_t n) {
    return mp_fun_table.memset_(s, c, n);
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

int bcmp(const void *a, const void *b, size_t n) {
    return memcmp(a, b, n);
}

size_t strlen(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') {
        n++;
    }
    return n;
}

// nomq's firmware profile aborts on a panic (a bug). There is no process to end here: raise,
// which unwinds through nomq's frames without running their destructors. A heap too small for what the object was configured to hold (an outbox bound larger than
// the heap, say) ends the same way, reported as a MemoryError.
MP_NORETURN void abort(void) {
    if (heap_full) {
        heap_full = false;
        // MemoryError through the globals: dynruntime.h names only a few exception types.
        const mp_obj_type_t *memory_error = (const mp_obj_type_t *)mp_load_global(MP_QSTR_MemoryError);
        mp_raise_msg(memory_error, "nomq: the heap is full (lower the object's bounds); this object must not be used again");
    }
    mp_raise_msg(&mp_type_RuntimeError, "nomq aborted (an internal error: please report it)");
    for (;;) {
    }
}

void nomq_mp_init_fixed_dict(mp_obj_dict_t *dict, mp_map_elem_t *table, size_t n) {
    dict->base.type = mp_fun_table.type_dict;
    dict->map.all_keys_are_qstrs = 1;
    dict->map.is_fixed = 1;
    dict->map.is_ordered = 1;
    dict->map.used = n;
    dict->map.alloc = n;
    dict->map.table = table;
}

// For mpy_link.py, not loaded: which mp_fun_table slot holds each runtime object that constant
// data may point at (function objects name their type), in the order of FUN_TABLE_SYMBOLS
// there. Taken from the headers, so the linker needs no copy of the table's layout.
__attribute__((section(".natmod_fun_table_slots"), used))
const uint16_t nomq_natmod_fun_table_slots[] = {
    offsetof(mp_fun_table_t, type_type) / sizeof(void *),
    offsetof(mp_fun_table_t, type_str) / sizeof(void *),
    offsetof(mp_fun_table_t, type_list) / sizeof(void *),
    offsetof(mp_fun_table_t, type_dict) / sizeof(void *),
    offsetof(mp_fun_table_t, type_fun_builtin_0) / sizeof(void *),
    offsetof(mp_fun_table_t, type_fun_builtin_1) / sizeof(void *),
    offsetof(mp_fun_table_t, type_fun_builtin_2) / sizeof(void *),
    offsetof(mp_fun_table_t, type_fun_builtin_3) / sizeof(void *),
    offsetof(mp_fun_table_t, type_fun_builtin_var) / sizeof(void *),
    offsetof(mp_fun_table_t, type_Exception) / sizeof(void *),
};
