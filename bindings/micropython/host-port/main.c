// The host port's entry point: `micropython script.py [args...]` runs one script and exits.
// Exit status: 0 when the script finishes, SystemExit's code when it raises SystemExit, 1 on
// any other uncaught exception (its traceback goes to stdout first). sys.path is the
// script's directory followed by the entries of MICROPYPATH (colon separated), as on the
// unix port, so the same test command works with either interpreter.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "py/builtin.h"
#include "py/cstack.h"
#include "py/gc.h"
#include "py/lexer.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/objexcept.h"
#include "py/parse.h"
#include "py/compile.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "shared/runtime/gchelper.h"

// The GC heap: large enough for 64 KiB datagrams and their copies.
#define HEAP_BYTES (4 * 1024 * 1024)
// The C stack MicroPython may use before it raises RuntimeError (the host's is 8 MiB).
#define STACK_BYTES (256 * 1024)

static char heap[HEAP_BYTES];

static void append_path(const char *dir, size_t len) {
    mp_obj_list_append(mp_sys_path, mp_obj_new_str(dir, len));
}

// sys.path: the script's directory, then MICROPYPATH.
static void set_sys_path(const char *script) {
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_path), 0);
    const char *slash = strrchr(script, '/');
    if (slash == NULL) {
        append_path("", 0);
    } else {
        append_path(script, (size_t)(slash - script));
    }
    const char *extra = getenv("MICROPYPATH");
    while (extra != NULL && *extra != '\0') {
        const char *colon = strchr(extra, ':');
        size_t len = colon ? (size_t)(colon - extra) : strlen(extra);
        append_path(extra, len);
        extra = colon ? colon + 1 : NULL;
    }
}

static void set_sys_argv(int argc, char **argv) {
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_argv), 0);
    for (int i = 1; i < argc; i++) {
        mp_obj_list_append(mp_sys_argv, mp_obj_new_str(argv[i], strlen(argv[i])));
    }
}

// Runs the script; returns the process exit status.
static int run_file(const char *path) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_lexer_t *lex = mp_lexer_new_from_file(qstr_from_str(path));
        qstr source_name = lex->source_name;
        mp_parse_tree_t parse_tree = mp_parse(lex, MP_PARSE_FILE_INPUT);
        mp_obj_t module_fun = mp_compile(&parse_tree, source_name, false);
        mp_call_function_0(module_fun);
        nlr_pop();
        return 0;
    }
    mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        mp_obj_t code = mp_obj_exception_get_value(exc);
        if (code == mp_const_none) {
            return 0;
        }
        if (mp_obj_is_small_int(code)) {
            return (int)MP_OBJ_SMALL_INT_VALUE(code);
        }
        mp_obj_print_helper(&mp_plat_print, code, PRINT_STR);
        mp_print_str(&mp_plat_print, "\n");
        return 1;
    }
    mp_obj_print_exception(&mp_plat_print, exc);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s script.py [args...]\n", argv[0]);
        return 2;
    }
    mp_cstack_init_with_sp_here(STACK_BYTES);
    gc_init(heap, heap + sizeof(heap));
    mp_init();
    set_sys_path(argv[1]);
    set_sys_argv(argc, argv);
    int status = run_file(argv[1]);
    // Run every finaliser (codecs free their native memory), then wipe the heap: native
    // memory that no finaliser freed has no pointer left to it, and valgrind reports it lost.
    gc_sweep_all();
    mp_deinit();
    memset(heap, 0, sizeof(heap));
    return status;
}

// A full collection: the roots are the registers and the C stack (conservatively scanned),
// plus MicroPython's root pointers that gc_collect_start adds.
void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

mp_import_stat_t mp_import_stat(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        return MP_IMPORT_STAT_NO_EXIST;
    }
    return S_ISDIR(st.st_mode) ? MP_IMPORT_STAT_DIR : MP_IMPORT_STAT_FILE;
}

void nlr_jump_fail(void *val) {
    fprintf(stderr, "FATAL: uncaught NLR %p\n", val);
    exit(1);
}

void MP_NORETURN __fatal_error(const char *msg) {
    fprintf(stderr, "FATAL: %s\n", msg);
    exit(1);
}
