//! Embeds `migrations/NNNN_name.sql`, sorted by number and already split into
//! statements, so a bad file name or a duplicate number fails the build rather than a
//! request.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

#[path = "src/sql_script.rs"]
#[allow(dead_code)]
mod sql_script;

struct Migration {
    version: u32,
    name: String,
    path: PathBuf,
}

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest_dir).join("../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed=src/sql_script.rs");

    let mut migrations = Vec::new();
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read migrations folder {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("readable migrations folder entry").path();
        let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
            continue;
        };
        let Some(stem) = file.strip_suffix(".sql") else {
            continue;
        };
        println!("cargo:rerun-if-changed={}", path.display());
        let (number, name) = stem
            .split_once('_')
            .unwrap_or_else(|| panic!("migration {file}: name it NNNN_name.sql"));
        let version: u32 = number
            .parse()
            .ok()
            .filter(|v| *v > 0 && number.len() == 4)
            .unwrap_or_else(|| panic!("migration {file}: NNNN must be four digits, from 0001"));
        assert!(!name.is_empty(), "migration {file}: name it NNNN_name.sql");
        migrations.push(Migration {
            version,
            name: name.to_string(),
            path,
        });
    }
    migrations.sort_by_key(|m| m.version);
    for pair in migrations.windows(2) {
        assert!(
            pair[0].version != pair[1].version,
            "two migrations are numbered {:04}",
            pair[0].version
        );
    }
    assert!(!migrations.is_empty(), "no migrations in {}", dir.display());

    let mut out = String::from(
        "/// Every migration embedded at build time, in version order.\n\
         pub static MIGRATIONS: &[Migration] = &[\n",
    );
    for m in &migrations {
        let text = fs::read_to_string(&m.path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", m.path.display()));
        let statements = sql_script::split(&text);
        assert!(
            !statements.is_empty(),
            "migration {:04}_{} has no statement",
            m.version,
            m.name
        );
        let _ = writeln!(
            out,
            "    Migration {{ version: {}, name: {:?}, statements: &[",
            m.version, m.name
        );
        for s in &statements {
            let _ = writeln!(out, "        {s:?},");
        }
        out.push_str("    ] },\n");
    }
    out.push_str("];\n");

    let out_dir = env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    fs::write(Path::new(&out_dir).join("migrations.rs"), out).expect("writable OUT_DIR");
}
