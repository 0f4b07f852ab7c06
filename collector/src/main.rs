use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use rapport_collector::{app, AppState, Db, RateLimit};
use tracing_subscriber::EnvFilter;

/// Rapport's reference collector.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "RAPPORT_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// `sqlite://PATH` (created if missing) or `postgres://…`.
    #[arg(
        long,
        global = true,
        env = "RAPPORT_DATABASE_URL",
        default_value = "sqlite://data/rapport.db"
    )]
    database_url: String,
    /// Keep the events in ClickHouse instead: `clickhouse://[USER[:PASSWORD]@]HOST:PORT/DB`
    /// (its HTTP port; the database is created if missing), with `?cluster=NAME` for
    /// shards behind a Distributed table (docs/scaling.md). The loyalty ledger and the
    /// referral state stay in the --database-url database.
    #[arg(
        long,
        global = true,
        env = "RAPPORT_EVENTS_URL",
        hide_env_values = true
    )]
    events_url: Option<String>,
    /// The site config file: sites, allowed origins, write keys.
    #[arg(
        long,
        global = true,
        env = "RAPPORT_CONFIG",
        default_value = "rapport.toml"
    )]
    config: PathBuf,
    /// Serve this folder (the demo site) under /demo/.
    #[arg(long, env = "RAPPORT_DEMO_DIR")]
    demo_dir: Option<PathBuf>,
    /// Serve this folder (the built widget) under /embed/.
    #[arg(long, env = "RAPPORT_EMBED_DIR")]
    embed_dir: Option<PathBuf>,
    /// Serve this folder (the built dashboard, `cargo xtask dist` puts it in dist/dashboard)
    /// at / and under /dashboard/.
    #[arg(long, env = "RAPPORT_DASHBOARD_DIR")]
    dashboard_dir: Option<PathBuf>,
    /// The operator's token, which reads every site's data as `Authorization: Bearer
    /// <token>`; at least 16 characters. Owners' tokens, which read their own sites only, are
    /// listed as hashes in the config (`[[site]] owners`). Formerly `--read-token` (and
    /// RAPPORT_READ_TOKEN), which still work.
    #[arg(
        long,
        alias = "read-token",
        env = "RAPPORT_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,
    /// Serve the site data to anyone, anywhere, when no token is configured. Without it, and
    /// without a token, reads answer only on loopback and the collector refuses to listen
    /// on any other address.
    #[arg(long, env = "RAPPORT_PUBLIC_READS")]
    public_reads: bool,
    /// Ingest requests one client address may send at once.
    #[arg(long, env = "RAPPORT_RATE_LIMIT_BURST", default_value_t = 120)]
    rate_limit_burst: u32,
    /// Ingest requests per second one client address may sustain.
    #[arg(long, env = "RAPPORT_RATE_LIMIT_PER_SECOND", default_value_t = 20)]
    rate_limit_per_second: u32,
    /// Shopper requests (loyalty, redeem, referral) one client address may send at once, per
    /// site.
    #[arg(long, env = "RAPPORT_SHOPPER_RATE_LIMIT_BURST", default_value_t = 30)]
    shopper_rate_limit_burst: u32,
    /// Shopper requests per second one client address may sustain, per site.
    #[arg(
        long,
        env = "RAPPORT_SHOPPER_RATE_LIMIT_PER_SECOND",
        default_value_t = 1
    )]
    shopper_rate_limit_per_second: u32,
    /// Load balancers in front of the collector, as `CIDR,CIDR,…`: a request from one of
    /// them is attributed to the client its `X-Forwarded-For` names.
    #[arg(long, env = "RAPPORT_TRUSTED_PROXIES", default_value = "")]
    trusted_proxies: String,
    /// Seconds a connection may take to send a request's headers before it is closed.
    #[arg(long, env = "RAPPORT_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    header_timeout_seconds: u64,
    /// Seconds a request's whole body may take to arrive before the answer is 408.
    #[arg(long, env = "RAPPORT_BODY_TIMEOUT_SECONDS", default_value_t = 10)]
    body_timeout_seconds: u64,
    /// Requests in progress at once, health checks aside; beyond it the answer is 503.
    #[arg(long, env = "RAPPORT_MAX_CONCURRENT_REQUESTS", default_value_t = 256)]
    max_concurrent_requests: usize,
    /// Reads of the reports (stats, breakdowns, prompts, experiments, live) that may run at
    /// once, on their own connections; the others wait their turn. By default 2 on SQLite
    /// and 8 on PostgreSQL, so that ingest always has connections of its own.
    #[arg(long, env = "RAPPORT_READ_CONCURRENCY")]
    read_concurrency: Option<usize>,
    /// Seconds one read of a report may take, its wait for a turn included, before the
    /// answer is 503 with Retry-After.
    #[arg(long, env = "RAPPORT_READ_TIMEOUT_SECONDS", default_value_t = 20)]
    read_timeout_seconds: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = Args::parse();
    if let Some(Command::Token { command }) = &args.command {
        return token_command(command);
    }
    if let Some(Command::Import { site, file }) = &args.command {
        return import_command(&args, site, file).await;
    }
    if args.admin_token.is_none() {
        // The variable of the flag's former name, so that a collector set up with it does not
        // open its reads on upgrade.
        args.admin_token = std::env::var("RAPPORT_READ_TOKEN").ok();
    }
    let printable = |t: &String| t.len() >= 16 && t.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if args.admin_token.as_ref().is_some_and(|t| !printable(t)) {
        eprintln!("rapport-collector: --admin-token: use at least 16 printable ASCII characters, no spaces");
        std::process::exit(2);
    }
    let config = match rapport_collector::Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("rapport-collector: bad config: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Err(e) = rapport_collector::demo::check_public_secret(&config, args.demo_dir.is_some()) {
        eprintln!("rapport-collector: refusing to start: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let tokens = args.admin_token.is_some() || config.has_tokens();
    if args.public_reads && tokens {
        eprintln!(
            "rapport-collector: --public-reads opens the site data to anyone, so it cannot go with \
             --admin-token or [[site]] owners/shared; drop one or the other"
        );
        return std::process::ExitCode::FAILURE;
    }
    if !args.listen.ip().to_canonical().is_loopback() && !tokens && !args.public_reads {
        eprintln!(
            "rapport-collector: --listen {} is not a loopback address and no read token is \
             configured: list owner token hashes in [[site]] owners (`rapport-collector token \
             new` prints one) or set --admin-token, or pass --public-reads to let anyone read \
             every site's data",
            args.listen
        );
        return std::process::ExitCode::FAILURE;
    }
    if args.public_reads {
        tracing::warn!("--public-reads: anyone who reaches this collector reads every site's data");
    }
    let trusted_proxies =
        match rapport_collector::limit::TrustedProxies::parse(&args.trusted_proxies) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("rapport-collector: --trusted-proxies: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    let refill = std::time::Duration::from_secs(1) / args.rate_limit_per_second.max(1);
    let Some(rate_limit) = RateLimit::new(args.rate_limit_burst, refill) else {
        eprintln!("rapport-collector: --rate-limit-burst must be above 0");
        return std::process::ExitCode::FAILURE;
    };
    let refill = std::time::Duration::from_secs(1) / args.shopper_rate_limit_per_second.max(1);
    let Some(shopper_rate_limit) = RateLimit::new(args.shopper_rate_limit_burst, refill) else {
        eprintln!("rapport-collector: --shopper-rate-limit-burst must be above 0");
        return std::process::ExitCode::FAILURE;
    };
    if args.header_timeout_seconds == 0 || args.body_timeout_seconds == 0 {
        eprintln!("rapport-collector: --header-timeout-seconds and --body-timeout-seconds must be above 0");
        return std::process::ExitCode::FAILURE;
    }
    if args.max_concurrent_requests == 0 {
        eprintln!("rapport-collector: --max-concurrent-requests must be above 0");
        return std::process::ExitCode::FAILURE;
    }
    let limits = rapport_collector::serve::Limits::new(
        std::time::Duration::from_secs(args.header_timeout_seconds),
        std::time::Duration::from_secs(args.body_timeout_seconds),
        args.max_concurrent_requests,
    );
    if args.read_concurrency == Some(0) || args.read_timeout_seconds == 0 {
        eprintln!(
            "rapport-collector: --read-concurrency and --read-timeout-seconds must be above 0"
        );
        return std::process::ExitCode::FAILURE;
    }
    let budget = rapport_collector::db::ReadBudget {
        concurrency: args.read_concurrency,
        timeout: std::time::Duration::from_secs(args.read_timeout_seconds),
    };
    let db = match open_db(&args, budget).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("rapport-collector: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("rapport-collector: cannot listen on {}: {e}", args.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    // Tests and xtask read this line to find the port.
    println!("rapport-collector listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let limiters = [rate_limit.clone(), shopper_rate_limit.clone()];
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            for limiter in &limiters {
                limiter.forget_idle_clients();
            }
        }
    });
    let state = AppState {
        db,
        config: std::sync::Arc::new(config),
        demo_dir: args.demo_dir,
        embed_dir: args.embed_dir,
        dashboard_dir: args.dashboard_dir,
        rate_limit,
        shopper_rate_limit,
        trusted_proxies,
        admin_token: args.admin_token.map(std::sync::Arc::from),
        public_reads: args.public_reads,
        limits,
    };
    let limits = state.limits.clone();
    rapport_collector::serve::serve(listener, app(state), &limits, shutdown_signal()).await;
    std::process::ExitCode::SUCCESS
}

#[derive(clap::Subcommand)]
enum Command {
    /// Owner and shared-link tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Store history: events of any age, one JSON event per line (as a batch's `events`
    /// carry them), checked as /v1/batch checks them except for their age. Refused lines
    /// are listed by number; the exit status is 1 when any was.
    Import {
        /// The configured site the events belong to.
        #[arg(long)]
        site: String,
        /// The newline-delimited JSON file; `-` reads standard input.
        file: PathBuf,
    },
}

/// Opens the stores named by the flags, for a subcommand.
async fn open_db(args: &Args, budget: rapport_collector::db::ReadBudget) -> Result<Db, String> {
    let db = Db::connect_with(&args.database_url, budget)
        .await
        .map_err(|e| format!("cannot open database {}: {e}", args.database_url))?;
    match &args.events_url {
        None => Ok(db),
        Some(url) => db.with_events(url).await.map_err(|e| {
            // The URL may carry a password: name only its host part.
            let shown = url.rsplit_once('@').map_or(url.as_str(), |(_, h)| h);
            format!("cannot open the events store {shown}: {e}")
        }),
    }
}

/// `rapport-collector import --site ID FILE`.
async fn import_command(args: &Args, site: &str, file: &std::path::Path) -> std::process::ExitCode {
    use std::io::BufRead;
    let fail = |message: String| {
        eprintln!("rapport-collector: import: {message}");
        std::process::ExitCode::from(2)
    };
    let config = match rapport_collector::Config::load(&args.config) {
        Ok(config) => config,
        Err(e) => return fail(format!("bad config: {e}")),
    };
    if let Err(e) = rapport_core::validate::site(site) {
        return fail(format!("--site: {}", e.reason));
    }
    if config.site(site).is_none() {
        return fail(format!(
            "--site: \"{site}\" is not configured in {}",
            args.config.display()
        ));
    }
    let input: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        match std::fs::File::open(file) {
            Ok(f) => Box::new(std::io::BufReader::with_capacity(1 << 20, f)),
            Err(e) => return fail(format!("cannot open {}: {e}", file.display())),
        }
    };
    let db = match open_db(args, Default::default()).await {
        Ok(db) => db,
        Err(e) => return fail(e),
    };
    let result =
        rapport_collector::import::import(&db, site, input, rapport_collector::now_ms()).await;
    db.close().await;
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            return fail(format!(
                "{e}; the events before it are stored, and running the import again stores \
                 the rest (stored events are skipped)"
            ))
        }
    };
    for (line, reason) in &report.refused {
        println!("line {line}: {reason}");
    }
    let unlisted = report.refused_lines - report.refused.len() as u64;
    if unlisted > 0 {
        println!("… and {unlisted} more refused lines");
    }
    println!(
        "{} lines: {} events stored, {} already stored, {} refused",
        report.lines, report.stored, report.duplicates, report.refused_lines
    );
    if report.refused_lines == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

#[derive(clap::Subcommand)]
enum TokenCommand {
    /// Print a new random token and the hash to list in `[[site]] owners` (or `shared`).
    New,
    /// Print the hash of a token read from standard input (one line).
    Hash,
}

fn token_command(command: &TokenCommand) -> std::process::ExitCode {
    use rapport_collector::secret;
    match command {
        TokenCommand::New => {
            let token = secret::new_token();
            println!("token: {token}");
            println!("hash:  {}", secret::token_hash_text(&token));
            eprintln!(
                "Give the token to the site's owner (or put it in a shared link); list the \
                 hash in the site's owners (or shared) in rapport.toml. The token is not \
                 stored anywhere: keep it."
            );
        }
        TokenCommand::Hash => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
                eprintln!("rapport-collector: token hash: write the token on standard input");
                return std::process::ExitCode::FAILURE;
            }
            println!("{}", secret::token_hash_text(line.trim()));
        }
    }
    std::process::ExitCode::SUCCESS
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
