//! The `lpbridge` command line. Every subcommand runs the remux component
//! (the embedded one, or `--component PATH`).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use lpbridge_contract::ladder;

use tokio::signal::unix::{SignalKind, signal};

use crate::bridge::{Bridge, Config, InOrder};
use crate::metrics::Metrics;
use crate::server::{Routes, Service};
use crate::swap::Reloader;

use crate::bindings::multipart::PartBody;
use crate::bindings::session::VerifyMode;
use crate::file_name::safe_file_name;
use crate::runtime::{Limits, Runtime, default_concurrent_calls};
use crate::server::Draining;

#[derive(Parser, Debug)]
#[command(
    name = "lpbridge",
    version,
    about = "Livepeer transcoding bridge for Streamplace segments"
)]
pub struct Cli {
    /// A remux component to use instead of the one built into this binary.
    #[arg(long, global = true, env = "LPBRIDGE_COMPONENT")]
    pub component: Option<PathBuf>,

    /// Linear memory one component call may use, in MiB (1 to 4096: a
    /// wasm32 memory holds at most 4 GiB).
    #[arg(long, global = true, env = "LPBRIDGE_MEMORY_MIB", default_value_t = 1024,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
    pub memory_mib: usize,

    /// Component calls that may hold an instance (and its memory) at once;
    /// by default four per core.
    #[arg(long, global = true, env = "LPBRIDGE_CONCURRENT_CALLS", default_value_t = default_concurrent_calls(),
        value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrent_calls: u32,

    /// Linear memory each warm instance slot keeps mapped between calls, in
    /// MiB: zeroed with memset, not faulted in again at the next call.
    #[arg(long, global = true, env = "LPBRIDGE_KEEP_RESIDENT_MIB", default_value_t = crate::runtime::DEFAULT_KEEP_RESIDENT_MIB,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=4096))]
    pub keep_resident_mib: usize,

    /// Write /tmp/perf-<pid>.map, so `perf` names the component's functions.
    #[arg(long, global = true, env = "LPBRIDGE_PERFMAP", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub perfmap: bool,

    /// Where compiled components are cached, by hash, so a start takes
    /// milliseconds instead of compiling (default `$XDG_CACHE_HOME/lpbridge`,
    /// else `~/.cache/lpbridge`).
    #[arg(long, global = true, env = "LPBRIDGE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,

    /// Compile the component at every start; keep no cache.
    #[arg(long, global = true, env = "LPBRIDGE_NO_CACHE", conflicts_with = "cache_dir", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub no_cache: bool,

    /// Logs as JSON lines.
    #[arg(long, global = true, env = "LPBRIDGE_LOG_JSON", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub log_json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a component built into this binary to a file.
    Component {
        world: World,
        /// The file to write.
        #[arg(short = 'o', long = "out", visible_alias = "output")]
        output: PathBuf,
    },
    /// Findings about segments nobody trusts, computed in the component:
    /// what is wrong, where, and what the bridge and the gateway will make
    /// of it. Files, directories (their MP4s in name order) or `-`. Exit 2
    /// on errors, 1 on warnings with --strict.
    Check {
        /// Segment files, directories of them, or `-` for stdin.
        #[arg(required = true)]
        segments: Vec<PathBuf>,
        /// The report as JSON (the schema is in the README).
        #[arg(long)]
        json: bool,
        /// Warnings fail the check too (exit 1).
        #[arg(long)]
        strict: bool,
        /// Also draw the run into one self-contained HTML file (`-` for
        /// stdout, instead of the text): each segment's frames, packets,
        /// edits and findings on its time axis.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Print what a segment holds, as JSON.
    Probe {
        /// The segment's file, or `-` for stdin.
        segment: PathBuf,
    },
    /// Split a segment into a video-only MPEG-TS and an audio-only MP4.
    Split {
        /// The segment's file, or `-` for stdin.
        segment: PathBuf,
        /// The MPEG-TS to write (video only, on the source's timeline).
        #[arg(long)]
        video_ts: PathBuf,
        /// The MP4 to write (the audio track, byte for byte).
        #[arg(long)]
        audio_mp4: PathBuf,
    },
    /// Join a rendition's TS with the audio MP4 from `split` into one MP4.
    Join {
        /// The rendition's MPEG-TS, or `-` for stdin.
        #[arg(long)]
        video_ts: PathBuf,
        /// The audio MP4 `split` wrote.
        #[arg(long)]
        audio_mp4: PathBuf,
        /// The MP4 to write.
        #[arg(short = 'o', long = "out", visible_alias = "output")]
        output: PathBuf,
        /// Write a fragmented MP4 (a moof per GOP) instead of a
        /// progressive one with moov first.
        #[arg(long)]
        fragmented: bool,
    },
    /// Send segments through a Livepeer gateway as one creator's session,
    /// two in flight; writes OUT/<rendition>/<index>.mp4.
    Transcode {
        /// The gateway's URL, or `local` for the built-in one. Several
        /// (repeated, or comma-separated) fail over in order.
        #[arg(long, env = "LPBRIDGE_GATEWAY", value_delimiter = ',', required = true)]
        gateway: Vec<String>,
        /// The creator's DID: one session, one manifest.
        #[arg(long, env = "LPBRIDGE_CREATOR", value_parser = clap::builder::NonEmptyStringValueParser::new())]
        creator: String,
        /// The directory renditions are written to (made if missing).
        #[arg(short = 'o', long, env = "LPBRIDGE_OUT")]
        out: PathBuf,
        #[command(flatten)]
        options: GatewayOptions,
        /// The segments, in stream order (`-` for one from stdin).
        #[arg(required = true)]
        segments: Vec<PathBuf>,
    },
    /// Serve the bridge over HTTP (POST /v1/segments?creator=DID).
    Serve {
        /// The address the service answers on: segments, checks, metrics,
        /// health.
        #[arg(long, env = "LPBRIDGE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The address of the admin routes (`POST /admin/reload`), with
        /// metrics and health: keep it on loopback or a private network.
        #[arg(long, env = "LPBRIDGE_ADMIN_LISTEN", default_value = "127.0.0.1:8081")]
        admin_listen: std::net::SocketAddr,
        /// The gateway's URL, or `local` for the built-in one. Several
        /// (repeated, or comma-separated) fail over in order.
        #[arg(long, env = "LPBRIDGE_GATEWAY", value_delimiter = ',', required = true)]
        gateway: Vec<String>,
        #[command(flatten)]
        options: GatewayOptions,
        /// Largest segment body accepted, in MiB (1 to 4096).
        #[arg(long, env = "LPBRIDGE_MAX_BODY_MIB", default_value_t = 64,
            value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=4096))]
        max_body_mib: usize,
        /// A segment every component must split and join before it serves.
        #[arg(long, env = "LPBRIDGE_SELF_CHECK_SEGMENT")]
        self_check_segment: Option<PathBuf>,
        /// Memory the segments in flight may hold, in MiB (their bodies,
        /// TS and renditions, at 4× a segment's size); a segment that would
        /// pass it gets 503 over-budget. Default: half of the machine's
        /// memory, or of its cgroup's limit when lower.
        #[arg(long, env = "LPBRIDGE_MEMORY_BUDGET_MIB",
            value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(crate::budget::MIN_MIB..=1 << 24))]
        memory_budget_mib: Option<u64>,
        /// After SIGTERM, how long /readyz answers 503 while segments are
        /// still served (for the load balancer to see it), in seconds,
        /// before the host stops accepting and finishes those in flight.
        #[arg(long, env = "LPBRIDGE_DRAIN_GRACE_SECS", default_value_t = 5,
            value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(0..=3600))]
        drain_grace_secs: u64,
        /// Serve the check page built by `scripts/edge-js page` from this
        /// directory at /check/ on the public listener: segments checked
        /// and drawn in the visitor's browser, nothing uploaded.
        #[arg(long, env = "LPBRIDGE_CHECK_PAGE", value_name = "DIR")]
        check_page: Option<PathBuf>,
        #[command(flatten)]
        canary: CanaryOptions,
    },
    /// Run a Livepeer-compatible gateway that transcodes with openh264
    /// (go-livepeer's push endpoint: POST /live/{manifest}/{seq}.ts).
    #[cfg(feature = "gateway")]
    Gateway {
        /// The address the gateway answers on.
        #[arg(long, env = "LPBRIDGE_GATEWAY_LISTEN", default_value = "127.0.0.1:8935")]
        listen: std::net::SocketAddr,
        /// Sessions (manifests) open at once; go-livepeer's default is 10.
        #[arg(long, env = "LPBRIDGE_GATEWAY_MAX_SESSIONS", default_value_t = 10)]
        max_sessions: usize,
        /// A session (manifest) unused for this long is closed.
        #[arg(long, env = "LPBRIDGE_GATEWAY_SESSION_IDLE_SECS", default_value_t = 60)]
        session_idle_secs: u64,
    },
    /// The whole job on this machine: sample segments through the
    /// component, the host and a gateway (the built-in one by default);
    /// writes OUT/<rendition>/<n>.mp4 and OUT/index.html.
    #[cfg(feature = "gateway")]
    Demo {
        /// The directory renditions and index.html are written to.
        #[arg(short = 'o', long, env = "LPBRIDGE_DEMO_OUT", default_value = "demo-out")]
        out: PathBuf,
        /// Consecutive 2 s segments to make and send.
        #[arg(long, env = "LPBRIDGE_DEMO_SEGMENTS", default_value_t = 3)]
        segments: u32,
        /// The gateway's URL, or `local` for the built-in one.
        #[arg(long, env = "LPBRIDGE_GATEWAY", value_delimiter = ',', default_value = "local")]
        gateway: Vec<String>,
        /// The creator's DID the samples are sent as.
        #[arg(long, env = "LPBRIDGE_CREATOR", default_value = "did:plc:lpbridgedemo")]
        creator: String,
        #[command(flatten)]
        options: GatewayOptions,
    },
    /// List the parts of a multipart/mixed body; `--out` writes them.
    Multipart {
        /// The Content-Type header that came with the body.
        #[arg(long)]
        content_type: String,
        /// The body's file, or `-` for stdin.
        body: PathBuf,
        /// A directory to write each part to, by its name.
        #[arg(short = 'o', long)]
        out: Option<PathBuf>,
    },
}

impl Command {
    /// The log level without `RUST_LOG`: the demo's table is its output,
    /// its logs are only for trouble.
    pub fn default_log_level(&self) -> &'static str {
        match self {
            #[cfg(feature = "gateway")]
            Command::Demo { .. } => "warn",
            _ => "info",
        }
    }
}

/// How to talk to the gateway; shared by `transcode` and `serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct GatewayOptions {
    /// Rungs of the ladder to use, by name.
    #[arg(long, env = "LPBRIDGE_RENDITIONS", default_value = "1080p,720p,360p,240p,160p")]
    pub renditions: String,
    /// How long a connection to the gateway may take.
    #[arg(long, env = "LPBRIDGE_CONNECT_TIMEOUT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout_ms: u64,
    /// How long the gateway may take to answer: go-livepeer answers only
    /// once it has transcoded the segment.
    #[arg(long, env = "LPBRIDGE_FIRST_BYTE_TIMEOUT_MS", default_value_t = 60_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub first_byte_timeout_ms: u64,
    /// How long the answer's body may go without a byte.
    #[arg(long, env = "LPBRIDGE_BETWEEN_BYTES_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub between_bytes_timeout_ms: u64,
    /// The whole round trip of one segment.
    #[arg(long, env = "LPBRIDGE_REQUEST_TIMEOUT_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
    /// Segments of a session that may wait for one of its 2 slots.
    #[arg(long, env = "LPBRIDGE_MAX_WAITING", default_value_t = 2)]
    pub max_waiting: usize,
    /// A session with nothing in flight for this long is dropped (its
    /// manifest with it, and its metrics series).
    #[arg(long, env = "LPBRIDGE_SESSION_IDLE_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_secs: u64,
    /// Write renditions as fragmented MP4s (a moof per GOP), for CMAF or
    /// LL-HLS packaging, instead of progressive ones with moov first.
    #[arg(long, env = "LPBRIDGE_FRAGMENTED", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub fragmented: bool,
    /// Check each rendition against what was asked (size, frame count,
    /// duration, first keyframe, timestamps): strict fails the segment
    /// naming the rendition and the mismatch, warn keeps the rendition
    /// and logs and counts it, off skips the checks.
    #[arg(long, env = "LPBRIDGE_VERIFY", value_enum, default_value_t = VerifyArg::Strict)]
    pub verify: VerifyArg,
    /// Attempts after the first for a failure another can mend: no
    /// connection, a reset before the answer, 500/502/503/504. Never after
    /// a 200, on a 4xx, or past the segment's deadline.
    #[arg(long, env = "LPBRIDGE_RETRIES", default_value_t = 2)]
    pub retries: u32,
    /// No attempt at a segment runs past this after it arrived.
    #[arg(long, env = "LPBRIDGE_SEGMENT_DEADLINE_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub segment_deadline_ms: u64,
    /// A gateway whose connections fail is not tried again for this long.
    #[arg(long, env = "LPBRIDGE_GATEWAY_COOLDOWN_MS", default_value_t = 10_000)]
    pub gateway_cooldown_ms: u64,
}

/// A new component on probation before it serves (`canary`).
#[derive(clap::Args, Debug, Clone)]
pub struct CanaryOptions {
    /// Put a reloaded component (a changed --component file, SIGHUP, POST
    /// /admin/reload) on probation instead of in service: it shadows this
    /// percent of each creator's segments, compared with what was served,
    /// and is promoted or rolled back on its own. POST /admin/canary does
    /// the same with a component in its body, with or without this flag
    /// (at 10% without it).
    #[arg(long, env = "LPBRIDGE_CANARY_SHARE",
        value_parser = clap::value_parser!(u32).range(1..=100))]
    pub canary_share: Option<u32>,
    /// Shadowed segments that must agree before the candidate serves.
    #[arg(long, env = "LPBRIDGE_CANARY_PROMOTE_AFTER", default_value_t = 100,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub canary_promote_after: u64,
    /// Rolled back when its median time over 20 shadowed segments passes
    /// this multiple of the serving component's.
    #[arg(long, env = "LPBRIDGE_CANARY_MAX_SLOWDOWN", default_value_t = 2.0,
        value_parser = slowdown)]
    pub canary_max_slowdown: f64,
    /// Differences are expected (an intended change): each is logged and
    /// counted, none rolls the candidate back.
    #[arg(long, env = "LPBRIDGE_CANARY_EXPECT_DIFF", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub canary_expect_diff: bool,
}

/// A slowdown is a ratio of at least 1.
fn slowdown(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r >= 1.0 => Ok(r),
        _ => Err(format!(
            "{s:?} is not a ratio of at least 1 (2 allows twice the serving component's time)"
        )),
    }
}

impl CanaryOptions {
    fn settings(&self) -> crate::canary::Settings {
        let default = crate::canary::Settings::default();
        crate::canary::Settings {
            on_reload: self.canary_share.is_some(),
            share: self.canary_share.unwrap_or(default.share),
            promote_after: self.canary_promote_after,
            max_slowdown: self.canary_max_slowdown,
            expect_diff: self.canary_expect_diff,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum VerifyArg {
    Strict,
    Warn,
    Off,
}

impl From<VerifyArg> for VerifyMode {
    fn from(v: VerifyArg) -> Self {
        match v {
            VerifyArg::Strict => VerifyMode::Strict,
            VerifyArg::Warn => VerifyMode::Warn,
            VerifyArg::Off => VerifyMode::Off,
        }
    }
}

impl GatewayOptions {
    /// The bridge to `gateways`; `local` starts the built-in gateway on a
    /// loopback port, which serves for as long as the returned handle lives.
    pub async fn bridge(
        &self,
        runtime: Runtime,
        gateways: &[String],
    ) -> Result<(Arc<Bridge>, Option<crate::local::Local>)> {
        self.bridge_with(runtime, gateways, |_| {}).await
    }

    /// `bridge`, with `tune` setting what only one subcommand has.
    pub async fn bridge_with(
        &self,
        runtime: Runtime,
        gateways: &[String],
        tune: impl FnOnce(&mut Config),
    ) -> Result<(Arc<Bridge>, Option<crate::local::Local>)> {
        let local = if gateways.iter().any(|g| g == "local") {
            Some(crate::local::start().await?)
        } else {
            None
        };
        let urls: Vec<String> = gateways
            .iter()
            .map(|g| match &local {
                Some(l) if g == "local" => crate::local::url(l),
                _ => g.clone(),
            })
            .collect();
        let mut config = self.config(&urls)?;
        tune(&mut config);
        let bridge = Bridge::new(runtime, config, Arc::new(Metrics::new()))?;
        Ok((Arc::new(bridge), local))
    }

    pub fn config(&self, gateways: &[String]) -> Result<Config> {
        let mut c = Config::new("");
        c.gateways = gateways.to_vec();
        c.ladder = ladder::select(&ladder::default_ladder(), &self.renditions)
            .map_err(|n| anyhow::anyhow!("unknown rendition {n:?} (the ladder has 1080p, 720p, 360p, 240p, 160p)"))?;
        c.timeouts.connect = Duration::from_millis(self.connect_timeout_ms);
        c.timeouts.first_byte = Duration::from_millis(self.first_byte_timeout_ms);
        c.timeouts.between_bytes = Duration::from_millis(self.between_bytes_timeout_ms);
        c.request_timeout = Duration::from_secs(self.request_timeout_secs);
        c.max_waiting = self.max_waiting;
        c.session_idle = Duration::from_secs(self.session_idle_secs);
        c.fragmented = self.fragmented;
        c.verify = self.verify.into();
        c.retries = self.retries;
        c.segment_deadline = Duration::from_millis(self.segment_deadline_ms);
        c.gateway_cooldown = Duration::from_millis(self.gateway_cooldown_ms);
        Ok(c)
    }
}

/// Prints a line to stdout; a reader that went away (`| head`) ends the
/// output quietly instead of a broken-pipe panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The components this binary carries.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum World {
    /// The one this host runs (`streamplace:livepeer/bridge`).
    Bridge,
    /// A standard `wasi:http/proxy` component for edge runtimes (wasmtime
    /// serve, jco, Spin), configured by LPBRIDGE_GATEWAY and friends.
    Edge,
}

fn write_component(world: World, output: &Path) -> Result<()> {
    let bytes = match world {
        World::Bridge => crate::components::EMBEDDED_COMPONENT,
        World::Edge => crate::components::EDGE_COMPONENT,
    };
    std::fs::write(output, bytes).with_context(|| format!("write {}", output.display()))?;
    say!("{}: {} bytes", output.display(), bytes.len());
    Ok(())
}

pub async fn run(cli: Cli) -> Result<()> {
    if let Command::Component { world, output } = &cli.command {
        return write_component(*world, output);
    }
    let sandbox = Sandbox::of(&cli);
    let runtime = sandbox.runtime()?;
    let log_json = cli.log_json;
    match cli.command {
        Command::Probe { segment } => {
            let info = runtime.probe(&read(&segment)?).await??;
            say!("{}", serde_json::to_string_pretty(&info.to_json())?);
        }
        Command::Split {
            segment,
            video_ts,
            audio_mp4,
        } => {
            let out = runtime.split(&read(&segment)?).await??;
            write(&video_ts, &out.video_ts)?;
            write(&audio_mp4, &out.audio_mp4)?;
            say!(
                "{}",
                serde_json::to_string_pretty(&lpbridge_contract::SegmentInfo::from(out.info).to_json())?
            );
        }
        Command::Join {
            video_ts,
            audio_mp4,
            output,
            fragmented,
        } => join(&runtime, &video_ts, &audio_mp4, &output, fragmented).await?,
        Command::Transcode {
            gateway,
            creator,
            out,
            options,
            segments,
        } => {
            writable_dir(&out, "--out (LPBRIDGE_OUT)")?;
            let (bridge, _local) = options.bridge(runtime, &gateway).await?;
            transcode(bridge, &creator, &out, &segments).await?;
        }
        #[cfg(feature = "gateway")]
        Command::Gateway {
            listen,
            max_sessions,
            session_idle_secs,
        } => gateway(listen, max_sessions, session_idle_secs).await?,
        #[cfg(feature = "gateway")]
        Command::Demo {
            out,
            segments,
            gateway,
            creator,
            options,
        } => {
            let (bridge, _local) = options.bridge(runtime, &gateway).await?;
            demo(bridge, out, segments, creator).await?;
        }
        Command::Serve {
            listen,
            admin_listen,
            gateway,
            options,
            max_body_mib,
            self_check_segment,
            memory_budget_mib,
            drain_grace_secs,
            check_page,
            canary,
        } => {
            let (bridge, _local) = options
                .bridge_with(runtime, &gateway, |c| c.canary = canary.settings())
                .await?;
            let settings = Serve {
                addresses: [listen, admin_listen],
                max_body: max_body_mib << 20,
                self_check: self_check_segment.as_deref().map(read).transpose()?,
                memory_budget: memory_budget_mib.map_or_else(crate::budget::Budget::default_limit, |m| m << 20),
                drain_grace: Duration::from_secs(drain_grace_secs),
                check_page,
                log_json,
            };
            serve(bridge, sandbox, settings).await?;
        }
        Command::Multipart {
            content_type,
            body,
            out,
        } => multipart(&runtime, &content_type, &body, out.as_deref()).await?,
        Command::Check {
            segments,
            json,
            strict,
            html,
        } => check(runtime, &segments, json, strict, html.as_deref()).await?,
        // Written before the runtime starts, which it does not need.
        Command::Component { world, output } => write_component(world, &output)?,
    }
    Ok(())
}

/// What every command's runtime is made from: the component (the
/// embedded one unless `--component`), its limits and its cache. `serve`
/// keeps it to load the next component the same way.
struct Sandbox {
    component: Option<PathBuf>,
    limits: Limits,
    cache_dir: Option<PathBuf>,
}

impl Sandbox {
    fn of(cli: &Cli) -> Self {
        Sandbox {
            component: cli.component.clone(),
            limits: Limits {
                memory_bytes: cli.memory_mib << 20,
                concurrent_calls: cli.concurrent_calls,
                keep_resident_bytes: cli.keep_resident_mib << 20,
                perf_map: cli.perfmap,
                ..Limits::default()
            },
            cache_dir: match cli.no_cache {
                true => None,
                false => cli.cache_dir.clone().or_else(crate::runtime::default_cache_dir),
            },
        }
    }

    fn runtime(&self) -> Result<Runtime> {
        let cache = self.cache_dir.as_deref();
        match &self.component {
            Some(path) => {
                let bytes = std::fs::read(path).with_context(|| format!("read component {}", path.display()))?;
                Runtime::with_cache(&bytes, self.limits, cache)
                    .with_context(|| format!("--component {}", path.display()))
            }
            None => Runtime::with_cache(crate::components::EMBEDDED_COMPONENT, self.limits, cache),
        }
    }
}

async fn join(runtime: &Runtime, video_ts: &Path, audio_mp4: &Path, output: &Path, fragmented: bool) -> Result<()> {
    let layout = crate::bindings::types::Mp4Layout::fragmented_if(fragmented);
    let options = crate::bindings::types::JoinOptions { layout };
    let mp4 = runtime
        .join_with(&read(video_ts)?, &read(audio_mp4)?, options)
        .await??;
    write(output, &mp4)?;
    say!("{} bytes -> {}", mp4.len(), output.display());
    Ok(())
}

/// The built-in gateway, until SIGTERM or Ctrl-C.
#[cfg(feature = "gateway")]
async fn gateway(listen: SocketAddr, max_sessions: usize, session_idle_secs: u64) -> Result<()> {
    let options = lpbridge_gateway::GatewayOptions {
        max_sessions,
        session_idle: Duration::from_secs(session_idle_secs),
        ..lpbridge_gateway::GatewayOptions::default()
    };
    let gateway = lpbridge_gateway::Gateway::start(listen, options)
        .await
        .with_context(|| format!("listen on {listen}"))?;
    say!("Livepeer-compatible gateway on {}", gateway.url());
    shutdown_signal().await;
    Ok(())
}

#[cfg(feature = "gateway")]
async fn demo(bridge: Arc<Bridge>, out: PathBuf, segments: u32, creator: String) -> Result<()> {
    let demo = crate::demo::DemoOptions {
        out: out.clone(),
        segments,
        creator,
        sample: lpbridge_gateway::synth::SampleOptions::default(),
    };
    say!(
        "{segments} sample segments of 2 s 720p30 -> {}",
        bridge.config().gateways.join(", ")
    );
    let columns = crate::demo::run(bridge, demo).await?;
    say!("{}", crate::demo::table(&columns));
    say!("open {}", out.join("index.html").display());
    Ok(())
}

/// The line `serve` writes on stdout once both listeners are bound: a
/// supervisor or a test reads the addresses from it (port 0 picks one).
struct Serving {
    public: SocketAddr,
    admin: SocketAddr,
    gateways: Vec<String>,
}

impl Serving {
    /// The same line under `--log-json`, where every line is JSON.
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "message": "lpbridge serving",
            "listen": format!("http://{}", self.public),
            "admin": format!("http://{}", self.admin),
            "gateways": self.gateways,
        })
    }
}

impl std::fmt::Display for Serving {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lpbridge serving on http://{} (gateway {}); admin on http://{}",
            self.public,
            self.gateways.join(", "),
            self.admin
        )
    }
}

/// `serve`'s settings beyond the bridge's.
struct Serve {
    /// The public and the admin listeners' addresses.
    addresses: [SocketAddr; 2],
    max_body: usize,
    self_check: Option<Vec<u8>>,
    memory_budget: u64,
    drain_grace: Duration,
    check_page: Option<PathBuf>,
    log_json: bool,
}

/// The HTTP service, after the component's self-check, reloading the
/// component when its file changes or on SIGHUP, until it has drained
/// after SIGTERM (`drain`).
async fn serve(bridge: Arc<Bridge>, sandbox: Sandbox, settings: Serve) -> Result<()> {
    let Serve {
        addresses: [listen, admin_listen],
        max_body,
        self_check: check,
        memory_budget,
        drain_grace,
        check_page,
        log_json,
    } = settings;
    crate::swap::self_check(&bridge.runtime(), check.as_deref())
        .await
        .context("the component failed its self-check")?;
    let reloader = Arc::new(Reloader::new(
        bridge.clone(),
        sandbox.component,
        sandbox.limits,
        sandbox.cache_dir,
        check,
    ));
    let _watch = reloader.clone().watch(Duration::from_secs(1));
    let on_hup = reloader.clone();
    tokio::spawn(async move {
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            if let Err(e) = on_hup.reload().await {
                tracing::error!(error = format!("{e:#}"), "SIGHUP reload refused");
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listen on {listen} (--listen, LPBRIDGE_LISTEN)"))?;
    let admin = tokio::net::TcpListener::bind(admin_listen)
        .await
        .with_context(|| format!("listen on {admin_listen} (--admin-listen, LPBRIDGE_ADMIN_LISTEN)"))?;
    let serving = Serving {
        public: listener.local_addr()?,
        admin: admin.local_addr()?,
        gateways: bridge.config().gateways.clone(),
    };
    if log_json {
        say!("{}", serving.to_json());
    } else {
        say!("{serving}");
    }
    let budget = crate::budget::Budget::new(memory_budget);
    let draining = Arc::new(Draining::default());
    let service = |routes| {
        Arc::new(Service {
            bridge: bridge.clone(),
            reloader: reloader.clone(),
            max_body,
            routes,
            budget: budget.clone(),
            draining: draining.clone(),
            check_page: check_page.clone(),
        })
    };
    // The admin listener stops with the public one: it holds no segment.
    let admin = tokio::spawn(crate::server::serve(
        service(Routes::Admin),
        admin,
        std::future::pending(),
    ));
    let stop = drain(draining.clone(), budget.clone(), drain_grace);
    let served = crate::server::serve(service(Routes::Public), listener, stop).await;
    admin.abort();
    // The last scrape may be a while ago: the process's own totals, for
    // whoever reconciles a fleet's numbers after a host has gone.
    let m = &bridge.metrics;
    tracing::info!(
        attempts = m.attempts.get(),
        transcoded = m.successes.get(),
        failed = m.errors.get(),
        "drained: every segment in flight answered; exiting"
    );
    served
}

/// Resolves when the host should stop accepting: at SIGTERM it starts
/// draining (`/readyz` 503, connections closed after each answer) and keeps
/// serving for `grace`, so that a load balancer checking readiness sees it
/// and sends new segments elsewhere; a second SIGTERM or Ctrl-C ends the
/// grace early.
async fn drain(draining: Arc<Draining>, budget: Arc<crate::budget::Budget>, grace: Duration) {
    shutdown_signal().await;
    draining.start();
    tracing::info!(
        grace_ms = grace.as_millis() as u64,
        in_flight = budget.segments(),
        "draining: /readyz answers 503; still serving new segments until the grace ends"
    );
    tokio::select! {
        _ = tokio::time::sleep(grace) => {}
        _ = shutdown_signal() => {}
    }
    tracing::info!(
        in_flight = budget.segments(),
        "grace over: no new connections; finishing the segments in flight"
    );
}

/// The parts of a `multipart/mixed` body, listed, and written to `out`.
async fn multipart(runtime: &Runtime, content_type: &str, body: &Path, out: Option<&Path>) -> Result<()> {
    let parts = runtime.multipart(content_type, &read(body)?).await??;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir)?;
    }
    say!("{:<4} {:<16} {:<40} {:>10}", "#", "name", "content-type", "bytes");
    for (i, p) in parts.iter().enumerate() {
        let (len, bytes) = match &p.body {
            PartBody::Bytes(b) => (b.len(), b.as_slice()),
            PartBody::Url(u) => (u.len(), u.as_bytes()),
        };
        say!(
            "{:<4} {:<16} {:<40} {:>10}",
            i,
            p.name.as_deref().unwrap_or("-"),
            p.content_type.as_deref().unwrap_or("-"),
            len
        );
        if let Some(dir) = out {
            let name = safe_file_name(p.filename.as_deref().or(p.name.as_deref()), i);
            write(&dir.join(name), bytes)?;
        }
    }
    Ok(())
}

async fn check(runtime: Runtime, segments: &[PathBuf], json: bool, strict: bool, html: Option<&Path>) -> Result<()> {
    let inputs = crate::check::inputs(segments)?;
    if inputs.is_empty() {
        return Err(crate::check::NoSegments(segments.to_vec()).into());
    }
    if json && html.is_some_and(|h| h.as_os_str() == "-") {
        return Err(crate::check::BothToStdout.into());
    }
    let drawn = html.is_some();
    let checked = crate::check::run(Arc::new(runtime), &ladder::default_ladder(), &inputs, drawn).await?;
    if let Some(to) = html {
        let page = crate::check::html(&checked);
        if to.as_os_str() == "-" {
            say!("{}", page.trim_end());
            crate::check::verdict(&checked, strict)?;
            return Ok(());
        }
        std::fs::write(to, page).with_context(|| format!("--html: write {}", to.display()))?;
        eprintln!("drew the check into {}", to.display());
    }
    if json {
        say!("{}", serde_json::to_string_pretty(&crate::check::run_json(&checked))?);
    } else {
        say!("{}", crate::check::text(&checked).trim_end());
    }
    crate::check::verdict(&checked, strict)?;
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Runs `segments` through one session, in order, two in flight.
/// `dir` as a directory this process can write, made if missing: checked
/// before any work, so a wrong output directory costs nothing.
fn writable_dir(dir: &Path, flag: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("{flag}: {} cannot be made a directory", dir.display()))?;
    let probe = dir.join(format!(".lpbridge-write-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("{flag}: {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

async fn transcode(bridge: Arc<Bridge>, creator: &str, out: &Path, segments: &[PathBuf]) -> Result<()> {
    let progress = std::io::stderr().is_terminal();
    let total = segments.len();
    let queue = InOrder::new(bridge, creator);
    let mut tasks = Vec::new();
    for path in segments {
        tasks.push(queue.submit(read(path)?).await);
    }
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (index, (task, path)) in tasks.into_iter().zip(segments).enumerate() {
        match task.await? {
            Ok(t) => {
                for r in t.renditions.iter() {
                    let dir = out.join(safe_file_name(Some(&r.name), 0));
                    std::fs::create_dir_all(&dir)?;
                    write(&dir.join(format!("{index}.mp4")), &r.mp4)?;
                    rows.push((
                        path.display().to_string(),
                        r.name.clone(),
                        format!("{}x{}", r.width, r.height),
                        r.mp4.len(),
                        t.elapsed,
                    ));
                }
                if t.renditions.is_empty() {
                    rows.push((
                        path.display().to_string(),
                        "-".into(),
                        format!("{}x{} (no rung below it)", t.width, t.height),
                        0,
                        t.elapsed,
                    ));
                }
            }
            Err(e) => failures.push(format!("{}: {}: {e}", path.display(), e.kind().as_str())),
        }
        if progress {
            eprint!("\r[{}/{total}] segments done", index + 1);
        }
    }
    if progress {
        eprintln!();
    }
    say!(
        "{:<40} {:<10} {:<24} {:>10} {:>8}",
        "segment",
        "rendition",
        "resolution",
        "bytes",
        "ms"
    );
    for (seg, name, res, bytes, elapsed) in rows {
        say!("{seg:<40} {name:<10} {res:<24} {bytes:>10} {:>8}", elapsed.as_millis());
    }
    if !failures.is_empty() {
        for f in &failures {
            eprintln!("failed: {f}");
        }
        bail!("{} of {total} segments failed", failures.len());
    }
    Ok(())
}

/// A file's bytes, or stdin's for `-`.
fn read(path: &Path) -> Result<Vec<u8>> {
    crate::check::read_input(path).with_context(|| match path.as_os_str() == "-" {
        true => "read stdin".to_string(),
        false => format!("read {}", path.display()),
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str().is_empty() {
        bail!("empty output path");
    }
    std::fs::write(path, bytes).with_context(|| format!("write {}", path.display()))
}
