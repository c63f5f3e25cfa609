//! `hashline serve` (the match API and probes) and `hashline tokens` (its API tokens).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use hashline_server::triage::{Role, UserStore};
use hashline_server::{AppState, Scope};

use crate::cmd_lists::StoreArg;
use crate::cmd_reports::DataDirArg;
use crate::config::Config;

/// `hashline serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArg,
    #[command(flatten)]
    pub data: DataDirArg,
    /// Address to listen on (default `server.listen`, 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Do not serve the match API (`/v1/...`): for the triage pages beside the reporter.
    #[arg(long)]
    pub no_api: bool,
    /// Do not serve the analyst triage pages: for the platform-facing match API.
    #[arg(long)]
    pub no_pages: bool,
    /// Also answer HMA's API (`/h/hash`, `/m/lookup`, `/m/raw_lookup`, `/c/banks`, ...), so
    /// Hasher-Matcher-Actioner clients switch by changing their base URL (`server.hma_compat`).
    #[arg(long)]
    pub hma_compat: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ScopeArg {
    /// The match API.
    Match,
    /// Scraping /metrics only.
    Metrics,
}

/// `hashline users ...`
#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Make an account. The password is asked twice on a terminal, or read as two lines
    /// from standard input (for scripts; the two must match).
    Add {
        /// Login name (letters, digits, '.', '_', '-').
        name: String,
        /// What the account may do.
        #[arg(long, value_enum)]
        role: RoleArg,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Every account: name, role, created, disabled.
    List {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Disable an account; its sessions end on their next request.
    Disable {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Enable a disabled account.
    Enable {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Set a new password (asked like `add`).
    Passwd {
        /// Login name.
        name: String,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Change an account's role.
    Role {
        /// Login name.
        name: String,
        /// The new role.
        #[arg(long, value_enum)]
        role: RoleArg,
        #[command(flatten)]
        data: DataDirArg,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum RoleArg {
    /// Works the review queue.
    Analyst,
    /// Analyst + reassigns cases, reads the audit log.
    Supervisor,
    /// Supervisor + accounts and lists.
    Admin,
    /// Health, metrics and counts only; never a case.
    Operator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Analyst => Role::Analyst,
            RoleArg::Supervisor => Role::Supervisor,
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
        }
    }
}

/// Reads a new password: twice from the terminal, or two lines of standard input.
fn new_password() -> anyhow::Result<String> {
    let (a, b) = if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        (rpassword::prompt_password("Password: ")?, rpassword::prompt_password("Password again: ")?)
    } else {
        let mut lines = std::io::stdin().lines();
        let mut next = || -> anyhow::Result<String> {
            Ok(lines.next().context("give the password twice, one per line, on standard input")??)
        };
        (next()?, next()?)
    };
    if a != b {
        anyhow::bail!("the two passwords differ; nothing was changed");
    }
    Ok(a)
}

pub fn run_users(cmd: UsersCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let open = |data: &DataDirArg| -> anyhow::Result<(PathBuf, UserStore)> {
        let dir = config.data_dir(data.data_dir.as_deref())?;
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let store = UserStore::open(&dir.join("users.json"))?;
        Ok((dir, store))
    };
    let mut out = std::io::stdout().lock();
    match cmd {
        UsersCommand::Add { name, role, data } => {
            let (dir, store) = open(&data)?;
            let role = Role::from(role);
            let password = new_password()?;
            let u = store.add(&name, role, &password)?;
            audit(&dir, "user.add", &u.name)?;
            writeln!(out, "account {:?} added as {}", u.name, role.as_str())?;
        }
        UsersCommand::List { data } => {
            let (_, store) = open(&data)?;
            for u in store.list()? {
                writeln!(
                    out,
                    "{:<24} {:<10} created {}{}",
                    u.name,
                    u.role.as_str(),
                    u.created_at,
                    u.disabled_at.map(|t| format!("  DISABLED {t}")).unwrap_or_default()
                )?;
            }
        }
        UsersCommand::Disable { name, data } => {
            let (dir, store) = open(&data)?;
            store.set_disabled(&name, true)?;
            audit(&dir, "user.disable", &name)?;
            writeln!(out, "account {name:?} disabled")?;
        }
        UsersCommand::Enable { name, data } => {
            let (dir, store) = open(&data)?;
            store.set_disabled(&name, false)?;
            audit(&dir, "user.enable", &name)?;
            writeln!(out, "account {name:?} enabled")?;
        }
        UsersCommand::Passwd { name, data } => {
            let (dir, store) = open(&data)?;
            let password = new_password()?;
            store.set_password(&name, &password)?;
            audit(&dir, "user.password", &name)?;
            writeln!(out, "password of {name:?} changed")?;
        }
        UsersCommand::Role { name, role, data } => {
            let (dir, store) = open(&data)?;
            let role = Role::from(role);
            store.set_role(&name, role)?;
            audit(&dir, "user.role", &name)?;
            writeln!(out, "account {name:?} is now {}", role.as_str())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `hashline tokens ...`
#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Make a token and print it once (it is stored hashed and cannot be shown again).
    Create {
        /// The platform (or scraper) the token is for; it names the token in metrics and the
        /// audit log.
        #[arg(long)]
        name: String,
        /// Lists the token may see, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        lists: Option<Vec<String>>,
        /// What it may do.
        #[arg(long, value_enum, default_value = "match")]
        scope: ScopeArg,
        /// Requests per second (default `server.rate_per_s`).
        #[arg(long, value_name = "N")]
        rate: Option<u32>,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Every token: name, scope, lists, created, revoked (never the token).
    List {
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Revoke a token; a running server refuses it from the next request.
    Revoke {
        /// Token name.
        name: String,
        #[command(flatten)]
        data: DataDirArg,
    },
}

fn token_store(config: &Config, data: &DataDirArg) -> anyhow::Result<(PathBuf, hashline_server::TokenStore)> {
    let dir = config.data_dir(data.data_dir.as_deref())?;
    let store = hashline_server::TokenStore::open(&dir.join("tokens.json"))?;
    Ok((dir, store))
}

fn audit(dir: &std::path::Path, action: &str, target: &str) -> anyhow::Result<()> {
    let log = hashline_report::AuditLog::open(dir)?;
    log.append(&crate::cmd_reports::actor(), action, target, Default::default())?;
    Ok(())
}

pub fn run_tokens(cmd: TokensCommand, config: &Config) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match cmd {
        TokensCommand::Create { name, lists, scope, rate, data } => {
            let (dir, store) = token_store(config, &data)?;
            let scope = match scope {
                ScopeArg::Match => Scope::Match,
                ScopeArg::Metrics => Scope::Metrics,
            };
            let (token, _) = store.create(&name, scope, lists, rate)?;
            audit(&dir, "token.create", &name)?;
            writeln!(out, "{token}")?;
            eprintln!(
                "token {name:?} created; it is shown once — give it to the platform over a secure channel"
            );
        }
        TokensCommand::List { data } => {
            let (_, store) = token_store(config, &data)?;
            for r in store.list()? {
                writeln!(
                    out,
                    "{:<24} {:<8} lists={:<24} created {}{}",
                    r.name,
                    format!("{:?}", r.scope).to_lowercase(),
                    r.lists.map_or_else(|| "all".to_string(), |l| l.join(",")),
                    r.created_at,
                    r.revoked_at.map(|t| format!("  REVOKED {t}")).unwrap_or_default()
                )?;
            }
        }
        TokensCommand::Revoke { name, data } => {
            let (dir, store) = token_store(config, &data)?;
            store.revoke(&name)?;
            audit(&dir, "token.revoke", &name)?;
            writeln!(out, "token {name:?} revoked")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_serve(args: ServeArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let store = args.store.open(config)?;
    let dir = config.data_dir(args.data.data_dir.as_deref())?;
    let data = hashline_report::DataDir::open(&dir, &config.evidence)?;
    let mut settings = config.serve_settings();
    if let Some(l) = args.listen {
        settings.server.listen = l;
    }
    settings.server.api &= !args.no_api;
    settings.server.pages &= !args.no_pages;
    settings.server.hma_compat |= args.hma_compat;
    if settings.server.hma_compat && !settings.server.api {
        anyhow::bail!("--hma-compat needs the match API: drop --no-api (or server.api = false)");
    }
    let listen = settings.server.listen.clone();
    if config.video.enabled {
        tracing::info!("videos: {}", hashline_video::decoder_in_use(&config.video));
    }
    let state = Arc::new(AppState::open(store, &data, settings).context("starting the server")?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .with_context(|| format!("listening on {listen} (is the address in use?)"))?;
        tracing::info!(addr = %listener.local_addr()?, lists = state.lists.snapshot().versions().len(), "serving");
        hashline_server::serve(listener, state, crate::cmd_reports::shutdown_signal()).await?;
        tracing::info!("stopped");
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
