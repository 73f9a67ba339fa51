//! The crate's own uniffi-bindgen, so the generator is always the version the scaffolding was
//! built with: `uniffi-bindgen generate --library target/release/libnomq_uniffi.so --language
//! kotlin --out-dir DIR` (scripts/uniffi-generate.sh).
fn main() {
    uniffi::uniffi_bindgen_main()
}
