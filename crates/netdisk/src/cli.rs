//! Command-line definitions (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "netdisk",
    version,
    about = "A self-hosted multi-user network disk: server and client in one binary"
)]
pub struct Cli {
    #[command(flatten)]
    pub remote: Remote,
    #[command(flatten)]
    pub security: Security,
    #[command(flatten)]
    pub trust: Trust,
    /// Print results as JSON, one object per line (ls, stat, df, put, get).
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars and no remarks; errors are still printed.
    #[arg(long, short = 'q', global = true)]
    pub quiet: bool,
    /// More detail: each transferred file's BLAKE3, each skipped file.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where a client connects and as whom.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// Server address: HOST or HOST:PORT (the port defaults to 7420; IPv6
    /// as [ADDRESS] or [ADDRESS]:PORT).
    #[arg(
        long,
        global = true,
        env = "NETDISK_SERVER",
        default_value = "localhost:7420",
        value_parser = crate::address::parse_server_address
    )]
    pub server: String,
    /// User name (default: your login name). The password comes from
    /// NETDISK_PASSWORD, a login saved by `netdisk login`, or is asked for
    /// on the terminal.
    #[arg(long, global = true, env = "NETDISK_USER")]
    pub user: Option<String>,
    /// Seconds to wait for the server to accept the connection, finish
    /// the TLS handshake and say hello.
    #[arg(
        long,
        global = true,
        env = "NETDISK_CONNECT_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub connect_timeout: u64,
}

/// Settings both sides share: they must agree.
#[derive(Debug, Clone, Args)]
pub struct Security {
    /// No TLS: plain TCP. Both the server and the client must say so; only
    /// for loopback or a network that is already private.
    #[arg(long, global = true)]
    pub plaintext: bool,
    /// The site key (made by `netdisk keygen`): a server with one admits
    /// only clients that prove they hold it, before any login.
    #[arg(
        long,
        global = true,
        env = "NETDISK_SITE_KEY_FILE",
        value_name = "FILE"
    )]
    pub site_key_file: Option<PathBuf>,
}

/// How a client decides to trust the server's TLS certificate. By default
/// it is pinned on first use in ~/.config/netdisk/known_hosts, like ssh.
#[derive(Debug, Clone, Args)]
pub struct Trust {
    /// Trust a server not seen before without asking, and remember it.
    #[arg(long, global = true)]
    pub accept_new_host: bool,
    /// Trust only a certificate with this fingerprint (as `netdisk serve` prints it).
    #[arg(
        long,
        global = true,
        env = "NETDISK_FINGERPRINT",
        value_name = "SHA256:...",
        conflicts_with = "ca"
    )]
    pub fingerprint: Option<String>,
    /// Trust certificates signed by the CA certificates in FILE (PEM),
    /// checking the name in --server, instead of pinning.
    #[arg(long, global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct RootArg {
    /// The server's data directory.
    #[arg(long, default_value = netdisk_store::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// The catalog several servers share (postgres://USER@HOST:PORT/DB):
    /// users, names and quotas there instead of in the data directory
    /// (docs/CLUSTER.md).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(Box<ServeArgs>),
    /// Manage user accounts (works directly on the data directory).
    #[command(subcommand)]
    User(UserCommand),
    /// An interactive session like sftp: one login, then commands at a
    /// prompt (or, from a pipe, one per line, stopping at the first failure).
    Shell,
    /// Write a new random site key to FILE (readable by its owner only).
    Keygen {
        file: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Log in once and save the login, so later commands to this server as
    /// this user need no password. What is saved (in ~/.config/netdisk/logins,
    /// readable by you only) is the pair of keys SCRAM derives from the
    /// password, not the password; changing the password voids it.
    Login,
    /// Forget the login saved for --server and --user.
    Logout,
    #[command(flatten)]
    Remote(RemoteCommand),
}

/// The commands that run on a logged-in session: one-shot from the
/// command line, or typed in `netdisk shell`.
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Print the remote current directory.
    Pwd,
    /// Change the remote directory (never outside your home).
    Cd(PathArg),
    /// List a remote directory.
    #[command(disable_help_flag = true, arg = long_only_help())]
    Ls(LsArgs),
    /// Describe remote files or directories (a file's BLAKE3 too).
    Stat(PathsArg),
    /// Create remote directories.
    Mkdir(MkdirArgs),
    /// Remove remote files (with -r, directories too).
    Rm(RmArgs),
    /// Remove empty remote directories.
    Rmdir(PathsArg),
    /// Rename or move a remote file or directory.
    Mv(MvArgs),
    /// Upload: put [-r] LOCAL... [REMOTE]
    Put(TransferArgs),
    /// Download: get [-r] REMOTE... [LOCAL]
    Get(TransferArgs),
    /// Show disk usage of your home.
    #[command(disable_help_flag = true, arg = long_only_help())]
    Df(DfArgs),
    /// Print remote files on standard output (verified: a mismatch is an error).
    Cat(PathsArg),
    /// Interrupted uploads the server keeps for a resume: list or discard them.
    #[command(subcommand)]
    Partials(PartialsCommand),
    /// Share links: a file or folder anyone with the link opens in a
    /// browser, with no login (the server must run its HTTP gateway).
    #[command(subcommand)]
    Share(ShareCommand),
    /// Personal API tokens for scripts that use the HTTP API.
    #[command(subcommand)]
    Token(TokenCommand),
    /// What rm removed, kept for a while: list, restore or purge it.
    #[command(subcommand)]
    Trash(TrashCommand),
    /// Old versions of a file (what uploads and moves replaced):
    /// `versions PATH` lists them; restore or purge them.
    Versions(VersionsArgs),
}

#[derive(Debug, Subcommand)]
pub enum TrashCommand {
    /// List the trash: id, where each thing was, its size, when it was removed.
    Ls,
    /// Put things back where they were (or --to elsewhere), never over
    /// anything: name each by its id, or by the path it was removed from
    /// (the newest removed there).
    Restore(TrashRestoreArgs),
    /// Delete from the trash for good, freeing the space: items by id,
    /// those removed longer ago than --older-than, or --all.
    Purge(TrashPurgeArgs),
}

#[derive(Debug, Args)]
pub struct TrashRestoreArgs {
    /// Ids (as `trash ls` shows them) or remote paths.
    #[arg(required = true)]
    pub items: Vec<String>,
    /// Where to put it instead (one item only).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct TrashPurgeArgs {
    /// Ids, as `trash ls` shows them.
    #[arg(required_unless_present_any = ["older_than", "all"], conflicts_with_all = ["older_than", "all"])]
    pub ids: Vec<String>,
    /// Items removed longer ago than this ("30d", "12h").
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with = "all")]
    pub older_than: Option<std::time::Duration>,
    /// Everything in the trash.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct VersionsArgs {
    #[command(subcommand)]
    pub command: Option<VersionsCommand>,
    /// The remote file whose old versions to list.
    #[arg(required = true)]
    pub path: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum VersionsCommand {
    /// List a file's old versions, newest first (for a file named like a
    /// subcommand).
    Ls { path: String },
    /// Make an old version the file again; the file it replaces becomes
    /// the newest old version.
    Restore { path: String, version: String },
    /// Delete one old version of a file, or all of them, for good.
    Purge {
        path: String,
        version: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// Make a link: a file's downloads, a folder's read-only listing, or
    /// (--upload-only) a folder that takes uploads and shows nothing.
    Add(ShareAddArgs),
    /// List your links (ended ones too), with their ids and use.
    Ls,
    /// Revoke links by id: they answer "not found" from then on.
    Rm(IdsArg),
}

#[derive(Debug, Args)]
pub struct ShareAddArgs {
    /// The remote file or folder to share.
    pub path: String,
    /// Visitors must give a password first (asked twice here).
    #[arg(long)]
    pub password: bool,
    /// Read that password from standard input instead.
    #[arg(long, conflicts_with = "password")]
    pub password_stdin: bool,
    /// The link ends after this long ("7d", "12h", "30m").
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expires: Option<std::time::Duration>,
    /// The link ends after this many downloads.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_downloads: Option<u64>,
    /// A folder that takes uploads (on your quota) and shows nothing.
    #[arg(long, conflicts_with = "max_downloads")]
    pub upload_only: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token; it is printed this once (the server keeps its hash).
    Add(TokenAddArgs),
    /// List your tokens (never their secrets).
    Ls,
    /// Revoke tokens by id.
    Rm(IdsArg),
}

#[derive(Debug, Args)]
pub struct TokenAddArgs {
    /// What it is for ("ci", "backup script").
    #[arg(long)]
    pub name: String,
    /// It expires after this long ("90d"); default: until revoked.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expires: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct IdsArg {
    /// The ids `ls` shows.
    #[arg(required = true)]
    pub ids: Vec<i64>,
}

#[derive(Debug, Subcommand)]
pub enum PartialsCommand {
    /// List them: target, bytes kept of the whole, when they expire.
    Ls,
    /// Discard the kept bytes of interrupted uploads to these targets
    /// (or all of them), freeing their quota.
    Rm(PartialsRmArgs),
}

#[derive(Debug, Args)]
pub struct PartialsRmArgs {
    /// Discard every kept partial upload.
    #[arg(long, conflicts_with = "paths")]
    pub all: bool,
    /// The remote paths the interrupted uploads were going to.
    #[arg(required_unless_present = "all")]
    pub paths: Vec<String>,
}

/// `--help` without `-h`, for the commands where `-h` means
/// human-readable sizes, as in ls and df.
fn long_only_help() -> clap::Arg {
    clap::Arg::new("help")
        .long("help")
        .action(clap::ArgAction::Help)
        .help("Print help")
}

/// Server settings. Each one given here wins over the config file, which
/// wins over the built-in default (shown in brackets).
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub root: RootArg,
    /// The config file (TOML) [ROOT/netdisk.toml, if it exists].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port (printed on start) [0.0.0.0:7420].
    #[arg(long)]
    pub listen: Option<String>,
    /// Also serve the HTTP API (docs/HTTP.md) on this address, with the
    /// same certificate (HTTPS) or --plaintext; e.g. 0.0.0.0:7480 [off].
    #[arg(long, value_name = "ADDR")]
    pub http: Option<String>,
    /// With --store: the S3 bucket that holds the files
    /// (s3://BUCKET[/PREFIX]?endpoint=URL&region=NAME; keys from
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) (docs/CLUSTER.md).
    #[arg(long, value_name = "URL")]
    pub objects: Option<String>,
    /// TLS certificate chain (PEM) instead of the generated one; needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Connections served at once; more are told the server is busy [1024].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Connections served at once from one address (IPv6: one /64) [64].
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Seconds a logged-in session may be idle between requests [600].
    #[arg(long, value_name = "SECONDS")]
    pub idle_timeout: Option<u64>,
    /// Seconds from connecting to a completed login [30].
    #[arg(long, value_name = "SECONDS")]
    pub login_timeout: Option<u64>,
    /// Seconds a request header may take once it has started arriving [10].
    #[arg(long, value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Seconds a transfer may go without progress in either direction [60].
    #[arg(long, value_name = "SECONDS")]
    pub stall_timeout: Option<u64>,
    /// Seconds running transfers get to finish after SIGINT/SIGTERM [30].
    #[arg(long, value_name = "SECONDS")]
    pub grace: Option<u64>,
    /// Quota for users without one of their own [unlimited].
    #[arg(long, value_parser = crate::size::parse_size_arg)]
    pub default_quota: Option<u64>,
    /// Memory all sessions together may hold for small uploads (put_small)
    /// waiting for their batch's commit [256MiB].
    #[arg(long, value_parser = crate::size::parse_size_arg)]
    pub small_upload_memory: Option<u64>,
    /// Hours the bytes of an interrupted upload are kept for a resume [24].
    #[arg(long, value_name = "HOURS")]
    pub partial_ttl_hours: Option<u64>,
    /// Failed logins from one address, or for one user name, before a lockout [10].
    #[arg(long)]
    pub max_login_failures: Option<u32>,
    /// Seconds a lockout lasts [900].
    #[arg(long, value_name = "SECONDS")]
    pub lockout: Option<u64>,
    /// Audit log: a file (relative: in ROOT), "stderr" or "off" [audit.log].
    #[arg(long, value_name = "FILE|stderr|off")]
    pub audit_log: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user and create their home.
    Add {
        name: String,
        /// Byte quota: plain bytes or with a unit (500M, 2G, 1GiB; K/M/G are powers of 1000, KiB/MiB/GiB of 1024).
        #[arg(long, value_parser = crate::size::parse_size_arg)]
        quota: Option<u64>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        root: RootArg,
    },
    /// Change a user's password.
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        root: RootArg,
    },
    /// Set a user's quota (SIZE, or "unlimited" for the server's default).
    Quota {
        name: String,
        /// Bytes with an optional unit (500M, 2G, 1GiB), or "unlimited".
        #[arg(value_parser = crate::size::parse_quota_arg)]
        size: crate::size::Quota,
        #[command(flatten)]
        root: RootArg,
    },
    /// Delete a user. Their files are kept unless --purge is given.
    Del {
        name: String,
        /// Also delete the user's files.
        #[arg(long)]
        purge: bool,
        #[command(flatten)]
        root: RootArg,
    },
    /// List users.
    List {
        #[command(flatten)]
        root: RootArg,
    },
    /// A user's own trash and versions settings (each one not given stays
    /// as it is; unset ones are the server's). Read at each login.
    Retention {
        name: String,
        /// How long what they remove stays in the trash ("7d"; "0s": none).
        #[arg(long, value_parser = humantime::parse_duration)]
        keep_trash: Option<std::time::Duration>,
        /// Old versions kept per file (0: none).
        #[arg(long)]
        keep_versions: Option<u32>,
        /// Whether an upload over their quota deletes their oldest trash
        /// and versions first.
        #[arg(long)]
        free_space_from_trash: Option<bool>,
        /// Give them the server's settings again.
        #[arg(long, conflicts_with_all = ["keep_trash", "keep_versions", "free_space_from_trash"])]
        reset: bool,
        #[command(flatten)]
        root: RootArg,
    },
}

#[derive(Debug, Args)]
pub struct PathArg {
    pub path: String,
}

#[derive(Debug, Args)]
pub struct PathsArg {
    #[arg(required = true)]
    pub paths: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Long form: kind, size, modification time, name.
    #[arg(short = 'l')]
    pub long: bool,
    /// With -l, sizes like 1.5 MiB instead of bytes.
    #[arg(short = 'h', long = "human-readable")]
    pub human: bool,
    pub path: Option<String>,
}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Sizes like 1.5 MiB only, without the exact byte counts.
    #[arg(short = 'h', long = "human-readable")]
    pub human: bool,
}

#[derive(Debug, Args)]
pub struct MkdirArgs {
    /// Create missing parents; no error if the directory exists.
    #[arg(short = 'p', long = "parents")]
    pub parents: bool,
    #[arg(required = true)]
    pub paths: Vec<String>,
}

#[derive(Debug, Args)]
pub struct MvArgs {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Args)]
pub struct TransferArgs {
    /// Sources, then optionally the destination (a directory when there
    /// are several sources). `-` is standard input for put (then name the
    /// remote file) and standard output for get.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Start over instead of continuing an interrupted transfer (an
    /// upload's kept bytes are discarded, and their quota freed, first).
    #[arg(long)]
    pub no_resume: bool,
    /// Copy directories and everything in them. Files already identical
    /// at the destination (same size and modification time) are skipped.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// With -r, copy what local symlinks point to (they are skipped otherwise).
    #[arg(long)]
    pub follow_links: bool,
    /// Also keep permission bits (modification times are always kept).
    #[arg(short = 'p', long)]
    pub preserve: bool,
    /// Identical means same size and same BLAKE3, not same size and time
    /// (reads every file of the same size on both sides).
    #[arg(short = 'c', long)]
    pub checksum: bool,
    /// Skip every file that exists at the destination, identical or not.
    #[arg(long)]
    pub ignore_existing: bool,
    /// Say what would be copied and skipped; copy nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Skip files and directories matching PATTERN (a glob: * ? [..];
    /// without a slash it matches a name at any depth, with one the path
    /// below the copied directory; a trailing slash matches directories only).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Copy what matches PATTERN even if an --exclude matches it too.
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove directories and everything in them.
    #[arg(short = 'r', long)]
    pub recursive: bool,
    #[arg(required = true)]
    pub paths: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
