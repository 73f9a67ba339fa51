//! `nomq keygen`: fresh keys in the reference's config file format (nomq-v1 §19).

use nomq::proto::endpoint::Random;
use nomq::{Config, Keys, OsRandom};
use std::io::Write;
use std::path::Path;

pub fn run(out: Option<&Path>, plain: bool, ip: &str, port: u16) -> Result<(), String> {
    let mut rng = OsRandom;
    let (mut enc, mut mac, mut iv) = ([0u8; 32], [0u8; 32], [0u8; 16]);
    rng.fill(&mut enc);
    rng.fill(&mut mac);
    rng.fill(&mut iv);
    let mut config = Config::new(Keys::new(enc, mac));
    config.ip = ip.to_owned();
    config.port = port;
    let text = if plain { format!("{}\n", config.to_json().as_str()) } else { config.to_file_text(&iv) };
    match out {
        None => print!("{text}"),
        Some(path) => write_private(path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?,
    }
    if let Some(path) = out {
        eprintln!(
            "nomq: wrote {} ({}). It holds the keys: keep it private.",
            path.display(),
            if plain { "plain JSON" } else { "reference config format, obfuscated only" }
        );
    }
    Ok(())
}

/// Creates the file readable by its owner only (the config format is obfuscation, v1 §22.13).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}
