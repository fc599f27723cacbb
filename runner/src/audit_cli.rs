//! `edgesafe-runner audit verify`: the audit trail's chain check on a state directory,
//! without serving it, so an operator can verify a copy.
//!
//! It asks the app itself, so the check is the very one `GET /api/v2/audit/verify`
//! runs: the runner loads the app on the state directory, with no listener, and calls
//! the audit component directly, as the gateway would through local service chaining.
//! The runner holds the state directory and its keys, so it is the operator: it
//! authenticates by writing the principal header the gateway would write, for an
//! administrator `user:0` named `edgesafe-runner`. Like every read of the trail, the
//! check records an `audit.verify` event, by `user:0`, after the events it checks.

use std::convert::Infallible;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};

use crate::admission::Chain;
use crate::{App, AppConfig, Limits};

#[derive(clap::Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(clap::Subcommand)]
enum AuditCommand {
    /// Check the audit chain of a state directory; prints the same verdict as
    /// `GET /api/v2/audit/verify` and exits 1 when the chain is broken.
    Verify {
        /// The application manifest.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
        /// The state directory to check (its keys come from the environment's
        /// `SPIN_VARIABLE_*` or its own `secrets.toml`, as for `up`).
        #[arg(long)]
        state_dir: PathBuf,
        /// Where compiled components are cached (default: compile now).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// Spin's runtime configuration file, as for `up`.
        #[arg(long)]
        runtime_config_file: Option<PathBuf>,
    },
}

/// Runs `audit <command>`.
pub fn run(args: AuditArgs) -> Result<()> {
    let AuditCommand::Verify {
        manifest,
        state_dir,
        cache_dir,
        runtime_config_file,
    } = args.command;
    if !state_dir.is_dir() {
        bail!("no state directory at {}", state_dir.display());
    }
    let config = AppConfig {
        manifest,
        state_dir,
        cache_dir,
        env: std::env::vars().collect(),
        init_secrets: false,
        log_requests: false,
        runtime_config: runtime_config_file,
        limits: Limits::default(),
    };
    let verdict = verify(&config)?;
    println!("{verdict}");
    if verdict["intact"] != true {
        bail!("the audit chain is broken");
    }
    Ok(())
}

/// The audit component's verdict on the chain of `config`'s state directory, as
/// `GET /api/v2/audit/verify` answers it.
pub fn verify(config: &AppConfig) -> Result<serde_json::Value> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = App::load(config)?;
        let body = Empty::<Bytes>::new()
            .map_err(|never: Infallible| -> wasmtime_wasi_http::Error { match never {} });
        let request = http::Request::get("http://audit.spin.internal/api/v2/audit/verify")
            .header("x-edgesafe-principal", operator_principal())
            .body(body)?;
        // One call, alone in this process: nothing to admit it against or time it by.
        let response = app
            .handle_chained("audit", request, Chain::unbounded())
            .await?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| anyhow!("reading the audit component's answer: {e:?}"))?
            .to_bytes();
        if !status.is_success() {
            bail!(
                "the audit component answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body).context("the audit component's answer is not JSON")
    })
}

/// The principal header of the operator at the console (see the module's comment).
fn operator_principal() -> String {
    let principal = serde_json::json!({
        "user_id": 0,
        "user_name": "edgesafe-runner",
        "admin": true,
        "groups": [],
        "features": {},
        "scopes": [],
        "auth": "api_key",
    });
    URL_SAFE_NO_PAD.encode(principal.to_string())
}
