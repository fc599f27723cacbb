use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use edgesafe_runner::limits::{parse_duration, InstanceReuse};
use edgesafe_runner::{build, server, App, AppConfig, Limits};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Serves a Spin application (spin.toml, manifest version 2) on wasmtime, with Spin's
/// HTTP trigger, SQLite, key-value and variables, needing nothing but cargo.
#[derive(Parser)]
#[command(name = "edgesafe-runner", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    up: UpArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the application (the default), like `spin up`.
    Up(UpArgs),
    /// Run every component's build command from the manifest, like `spin build`.
    Build {
        /// The application manifest.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
    },
    /// Work on the audit trail of a state directory, offline.
    Audit(edgesafe_runner::audit_cli::AuditArgs),
}

#[derive(clap::Args, Clone)]
struct UpArgs {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address to serve HTTP on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Where the app's SQLite database, key-value store and generated secrets live
    /// (default: `.spin` beside the manifest, as for Spin).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Where compiled components are cached between starts (default:
    /// `$XDG_CACHE_HOME/edgesafe-runner`, or `~/.cache/edgesafe-runner`).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Compile on every start instead of using the cache.
    #[arg(long)]
    no_cache: bool,
    /// Spin's runtime configuration file: SQLite databases and key-value stores by
    /// label (`type = "spin"` with a `path`; relative paths start at the file's folder).
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// Run the build commands first, like `spin up --build`.
    #[arg(long)]
    build: bool,
    /// Generate each required secret variable that has no value (not in the
    /// environment as SPIN_VARIABLE_<NAME>) into <state-dir>/secrets.toml, once,
    /// and print the generated API keys.
    #[arg(long)]
    init_secrets: bool,
    /// Do not log requests.
    #[arg(short, long)]
    quiet: bool,
    /// Longest a request may take, from admission to its last byte, chained calls
    /// included (e.g. 30s, 500ms; 0: no limit, as Spin's default). A guest past it is
    /// interrupted (500); a client still sending its body gets 408.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Longest a client may take to send a request's headers, or leave a keep-alive
    /// connection idle (Spin: none).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    header_read_timeout: Duration,
    /// Most connections open at once; more wait in the listen backlog (Spin: no limit).
    #[arg(long, default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Size of the instance pool, as Spin's SPIN_MAX_INSTANCE_COUNT (the SPIN_WASMTIME_*
    /// variables refine it as in Spin).
    #[arg(long, env = "SPIN_MAX_INSTANCE_COUNT", default_value_t = Limits::default().max_instances)]
    max_instances: u32,
    /// Requests that may wait for an instance when all are busy; more get 503 with
    /// Retry-After (Spin: no queue, a full pool answers 500).
    #[arg(long, default_value_t = Limits::default().max_queued_requests)]
    max_queued_requests: usize,
    /// Longest a request waits for an instance before it gets 503 with Retry-After.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    queue_timeout: Duration,
    /// Requests one instance of a WASIp3 component serves before it is dropped, as
    /// Spin 4's flag (WASIp2 instances serve one request).
    #[arg(long, default_value_t = InstanceReuse::default().max_requests)]
    max_instance_reuse_count: usize,
    /// Requests one instance of a WASIp3 component serves at once, as Spin 4's flag.
    #[arg(long, default_value_t = InstanceReuse::default().max_concurrent)]
    max_instance_concurrent_reuse_count: usize,
    /// How long an idle WASIp3 instance is kept for the next request, as Spin 4's flag.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    idle_instance_timeout: Duration,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Build { manifest }) => build::build(&manifest),
        Some(Command::Up(args)) => up(args),
        Some(Command::Audit(args)) => edgesafe_runner::audit_cli::run(args),
        None => up(cli.up),
    }
}

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("edgesafe-runner"))
}

fn up(args: UpArgs) -> Result<()> {
    if args.build {
        build::build(&args.manifest)?;
    }
    let base = args
        .manifest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let config = AppConfig {
        state_dir: args.state_dir.unwrap_or_else(|| base.join(".spin")),
        cache_dir: if args.no_cache {
            None
        } else {
            args.cache_dir.or_else(default_cache_dir)
        },
        manifest: args.manifest,
        env: std::env::vars().collect(),
        init_secrets: args.init_secrets,
        log_requests: !args.quiet,
        runtime_config: args.runtime_config_file,
        limits: Limits {
            request_timeout: Some(args.request_timeout).filter(|t| !t.is_zero()),
            header_read_timeout: args.header_read_timeout,
            max_connections: args.max_connections,
            max_instances: args.max_instances,
            max_queued_requests: args.max_queued_requests,
            queue_timeout: args.queue_timeout,
            instance_reuse: InstanceReuse {
                max_requests: args.max_instance_reuse_count,
                max_concurrent: args.max_instance_concurrent_reuse_count,
                idle_timeout: args.idle_instance_timeout,
            },
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let app = App::load(&config)?;
        for (name, value) in &app.generated_secrets {
            if name.ends_with("api_key") {
                println!("Generated {name}: {value}");
            } else {
                println!(
                    "Generated {name} (kept in {})",
                    config.state_dir.join("secrets.toml").display()
                );
            }
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        println!("Serving http://{}", listener.local_addr()?);
        for route in app.router().routes() {
            println!("  {} -> {}", route.raw, route.component);
        }
        println!(
            "{} requests at once; up to {} more wait their turn",
            app.concurrent_requests(),
            config.limits.max_queued_requests
        );
        server::serve(app, listener, server::shutdown_signal()).await?;
        println!("Stopped.");
        Ok(())
    })
}
