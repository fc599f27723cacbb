//! Application variables as Spin resolves them: `SPIN_VARIABLE_<NAME>` from the
//! environment, then the runner's secrets file in the state directory, then the
//! manifest default; a required variable without a value stops the start.
//! Component variables are templates over them (`"{{ kek }}"`).

use crate::manifest::Manifest;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Spin's rule: lowercase letters, digits and single underscores, starting with a letter.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.contains("__")
        && !name.ends_with('_')
}

pub fn env_name(name: &str) -> String {
    format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())
}

/// Values of the application's variables.
pub fn resolve(
    manifest: &Manifest,
    env: &dyn Fn(&str) -> Option<String>,
    secrets_file: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, spec) in &manifest.variables {
        if !is_valid_name(name) {
            bail!("variable name `{name}` is invalid: use lowercase letters, digits and `_`");
        }
        if spec.required && spec.default.is_some() {
            bail!("variable `{name}` cannot be both required and have a default");
        }
        let value = env(&env_name(name))
            .or_else(|| secrets_file.get(name).cloned())
            .or_else(|| spec.default.clone());
        match value {
            Some(v) => {
                values.insert(name.clone(), v);
            }
            None if spec.required => missing.push(name.clone()),
            None => bail!("variable `{name}` needs `default` or `required = true`"),
        }
    }
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|n| format!("{n} (set {})", env_name(n)))
            .collect();
        bail!(
            "required variables have no value: {}. Set them in the environment, or start with \
             --init-secrets to generate them once into the state directory",
            list.join(", ")
        );
    }
    Ok(values)
}

/// Expands `{{ name }}` references to application variables.
pub fn expand(template: &str, app: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .with_context(|| format!("unclosed `{{{{` in `{template}`"))?;
        let name = after[..end].trim();
        match app.get(name) {
            Some(v) => out.push_str(v),
            None => bail!("template `{template}` names variable `{name}`, which is not declared"),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The runner's own variables provider: `<state-dir>/secrets.toml`, written by
/// `--init-secrets`, readable only by its owner.
pub fn load_secrets_file(path: &Path) -> Result<BTreeMap<String, String>> {
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid {}", path.display()))
}

/// Generates a value for every required secret variable that has none, saves them
/// to the secrets file and returns the names it generated. Values are 32 random
/// bytes in base64 (the size of an AES-256 key); names ending in `api_key` get 64
/// random bytes in hex: 128 characters, the shape of a Password Safe API key.
pub fn init_secrets(
    manifest: &Manifest,
    env: &dyn Fn(&str) -> Option<String>,
    path: &Path,
) -> Result<Vec<(String, String)>> {
    use base64::Engine;
    use rand::RngCore;
    let mut file = load_secrets_file(path)?;
    let mut generated = Vec::new();
    for (name, spec) in &manifest.variables {
        if !spec.required
            || !spec.secret
            || env(&env_name(name)).is_some()
            || file.contains_key(name)
        {
            continue;
        }
        let value = if name.ends_with("api_key") {
            let mut bytes = [0u8; 64];
            rand::rng().fill_bytes(&mut bytes);
            hex::encode(bytes)
        } else {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        file.insert(name.clone(), value.clone());
        generated.push((name.clone(), value));
    }
    if !generated.is_empty() {
        let text = toml::to_string(&file)?;
        write_private(path, &text)?;
    }
    Ok(generated)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(vars: &str) -> Manifest {
        toml::from_str(&format!(
            "spin_manifest_version = 2\n[application]\nname = \"t\"\n[variables]\n{vars}"
        ))
        .unwrap()
    }

    #[test]
    fn env_beats_file_beats_default() {
        let m =
            manifest("a = { default = \"d\" }\nb = { default = \"d\" }\nc = { default = \"d\" }");
        let file = BTreeMap::from([
            ("a".to_string(), "file".to_string()),
            ("b".to_string(), "file".to_string()),
        ]);
        let env = |k: &str| (k == "SPIN_VARIABLE_A").then(|| "env".to_string());
        let v = resolve(&m, &env, &file).unwrap();
        assert_eq!(v["a"], "env");
        assert_eq!(v["b"], "file");
        assert_eq!(v["c"], "d");
    }

    #[test]
    fn missing_required_variable_is_refused_with_its_env_name() {
        let m = manifest("kek = { required = true, secret = true }");
        let err = resolve(&m, &|_| None, &BTreeMap::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("SPIN_VARIABLE_KEK"), "{err}");
    }

    #[test]
    fn templates_expand_and_unknown_names_fail() {
        let app = BTreeMap::from([("x".to_string(), "1".to_string())]);
        assert_eq!(expand("a-{{ x }}-{{x}}", &app).unwrap(), "a-1-1");
        assert!(expand("{{ y }}", &app).is_err());
        assert!(expand("{{ x", &app).is_err());
    }

    #[test]
    fn names_follow_spin_rules() {
        assert!(is_valid_name("kek_previous"));
        assert!(!is_valid_name("Kek"));
        assert!(!is_valid_name("a__b"));
        assert!(!is_valid_name("a_"));
        assert!(!is_valid_name("1a"));
    }
}
