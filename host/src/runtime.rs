//! Loads the component once and runs each call in a fresh `Store`
//! instantiated from a pre-linked `InstancePre` (microseconds with the
//! pooling allocator), so a trap or a leak in one call cannot touch the
//! next. Each store has a memory cap and its own `wasi:http` policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use wasmtime_wasi_http::p2::types::HostFutureIncomingResponse;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::bindings::multipart::Part;
use crate::bindings::session::{Profile, SegmentRequest, Sent, VerifyMode};
use crate::bindings::types::{self, JoinOptions, Mp4Layout, SplitOutput};
use crate::bindings::{Bridge, BridgePre};
use crate::policy::PolicyHooks;
use crate::stopped::{MemoryCap, Stopped};
use lpbridge_contract::timeline::SegmentTimeline;
use lpbridge_contract::{Finding, MediaError, MultipartError, Rendition, Report, SegmentInfo, TranscodeError};

/// Per-call resource limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Linear memory a single call may grow to.
    pub memory_bytes: usize,
    /// Calls that may hold an instance at once (pooling allocator slots);
    /// more wait their turn without holding memory.
    pub concurrent_calls: u32,
    /// Linear memory kept mapped between calls and zeroed with `memset`
    /// instead of `madvise`, so the next call does not page-fault its way
    /// through fresh memory (page zeroing was 45% of a 60 s join's time).
    /// At most `WARM_SLOTS` slots keep theirs, which bounds the idle RSS.
    /// A slot keeps the largest size it has grown to (no guard pages, see
    /// `engine`), so after one large segment every later call on it zeroes
    /// up to this many bytes, however little it used.
    pub keep_resident_bytes: usize,
    /// Wall time a remux call may run before it is interrupted (epoch
    /// deadline); a gateway round trip gets its request timeout instead.
    pub call_deadline: Duration,
    /// Not a limit but the engine's one other setting: write
    /// `/tmp/perf-<pid>.map`, so `perf` names the guest's functions.
    pub perf_map: bool,
}

/// `Limits::keep_resident_bytes` unless `--keep-resident-mib` says.
pub const DEFAULT_KEEP_RESIDENT_MIB: usize = 16;

/// How often the epoch advances: the granularity of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // A 60 s 1080p segment is ~25 MB; split holds it about three times.
            memory_bytes: 1 << 30,
            concurrent_calls: default_concurrent_calls(),
            keep_resident_bytes: DEFAULT_KEEP_RESIDENT_MIB << 20,
            call_deadline: Duration::from_secs(10),
            perf_map: false,
        }
    }
}

/// Four calls per core. A call is CPU work but for what it waits on the
/// network (an answer streaming in slowly), so a few per core keep the
/// cores busy, and more only hold linear memory: 200 sessions flat out on
/// 2 cores ran as many segments a second with 8 calls as with 32, in 270
/// MB instead of 570. Raise it for a gateway far away.
pub fn default_concurrent_calls() -> u32 {
    std::thread::available_parallelism().map_or(4, |n| 4 * n.get() as u32)
}

/// Pool slots that stay warm (resident) while unused.
pub const WARM_SLOTS: u32 = 4;

/// What a store carries: an empty WASI context (no files, no env, no
/// sockets), `wasi:http` behind the call's `PolicyHooks`, and the limiter.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: PolicyHooks,
    table: ResourceTable,
    limits: MemoryCap,
}

impl HostState {
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// A compiled, linked remux component.
pub struct Runtime {
    engine: Engine,
    pre: BridgePre<HostState>,
    limits: Limits,
    /// One permit per pool slot.
    calls: Arc<Semaphore>,
    /// SHA-256 of the component bytes, hex.
    pub hash: String,
    /// The component's bytes, for a copy of it in a pool of its own (the
    /// canary's reference).
    component: Arc<[u8]>,
}

/// The pool slot, then the store and its instance. Locals drop in reverse
/// order, so binding them in this order gives the permit back only after
/// the store has released its pool slot.
type Instance = (OwnedSemaphorePermit, Store<HostState>, Bridge);

impl Runtime {
    pub fn new(component: &[u8], limits: Limits) -> Result<Self> {
        Self::with_cache(component, limits, None)
    }

    /// Like `new`, but a compiled component is kept in `cache` under its
    /// SHA-256 and the engine's compatibility hash, so a restart or a swap
    /// back loads it in under a millisecond instead of compiling (~100 ms).
    pub fn with_cache(component: &[u8], limits: Limits, cache: Option<&Path>) -> Result<Self> {
        if let Some(what) = not_a_component(component) {
            anyhow::bail!("this is {what}");
        }
        let engine = engine(&limits)?;
        let hash = hex(&Sha256::digest(component));
        let compiled = match cache {
            Some(dir) => cached(&engine, component, &hash, dir)?,
            None => compile(&engine, component)?,
        };
        check_contract(&engine, &compiled)?;
        let mut linker = Linker::<HostState>::new(&engine);
        // Rust's std makes every component import wasi:cli and friends.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        crate::http_error::link(&mut linker)?;
        let pre = BridgePre::new(linker.instantiate_pre(&compiled)?)
            .map_err(anyhow::Error::from)
            .context("component does not export the bridge world")?;
        Ok(Runtime {
            engine,
            pre,
            calls: Arc::new(Semaphore::new(limits.concurrent_calls.max(1) as usize)),
            limits,
            hash,
            component: component.into(),
        })
    }

    /// The same component compiled again with `limits` (from `cache` when
    /// it is there): an engine and a pool of its own.
    pub fn copy(&self, limits: Limits, cache: Option<&Path>) -> Result<Runtime> {
        Runtime::with_cache(&self.component, limits, cache)
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Instance slots free now.
    pub fn free_calls(&self) -> usize {
        self.calls.available_permits()
    }

    /// The component built by cargo and embedded in this binary.
    pub fn embedded(limits: Limits) -> Result<Self> {
        Self::new(crate::components::EMBEDDED_COMPONENT, limits)
    }

    async fn instance(&self, hooks: PolicyHooks) -> Result<Instance> {
        self.instance_until(hooks, self.limits.call_deadline).await
    }

    async fn instance_until(&self, hooks: PolicyHooks, deadline: Duration) -> Result<Instance> {
        let (slot, mut store) = self.store_until(hooks, deadline).await?;
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok((slot, store, instance))
    }

    /// A pool slot and a fresh store in it, not yet instantiated.
    async fn store_until(
        &self,
        hooks: PolicyHooks,
        deadline: Duration,
    ) -> Result<(OwnedSemaphorePermit, Store<HostState>)> {
        let slot = self.calls.clone().acquire_owned().await?;
        let state = HostState {
            wasi: WasiCtxBuilder::new().build(),
            http: WasiHttpCtx::new(),
            hooks,
            table: ResourceTable::new(),
            limits: MemoryCap::new(self.limits.memory_bytes),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        store.set_epoch_deadline(epoch_ticks(deadline));
        store.epoch_deadline_trap();
        Ok((slot, store))
    }

    pub async fn probe(&self, segment: &[u8]) -> Result<Result<SegmentInfo, MediaError>> {
        let (_slot, mut store, r) = self.instance(PolicyHooks::deny_all()).await?;
        let answer = r.streamplace_livepeer_remux().call_probe(&mut store, segment).await?;
        Ok(answer.map(Into::into).map_err(Into::into))
    }

    /// A segment's findings, computed in the component from its bytes.
    pub async fn check(&self, segment: &[u8]) -> Result<Report> {
        let (_slot, mut store, r) = self.instance(PolicyHooks::deny_all()).await?;
        let answer = r.streamplace_livepeer_check().call_check(&mut store, segment).await;
        answer.map(Into::into).map_err(|e| self.stopped(&store, e))
    }

    /// `check`, and where each sample sits (for `check --html`), from one
    /// copy of the segment into the sandbox.
    pub async fn check_drawn(&self, segment: &[u8]) -> Result<(Report, Option<SegmentTimeline>)> {
        let (_slot, mut store, r) = self.instance(PolicyHooks::deny_all()).await?;
        let answer = r
            .streamplace_livepeer_check()
            .call_check_drawn(&mut store, segment)
            .await;
        let drawn = answer.map_err(|e| self.stopped(&store, e))?;
        Ok((drawn.report.into(), drawn.timeline.map(Into::into)))
    }

    /// A failed call's error, as the limit that stopped it when one did.
    fn stopped(&self, store: &Store<HostState>, e: wasmtime::Error) -> anyhow::Error {
        let e = anyhow::Error::from(e);
        match Stopped::of(&e, &store.data().limits, self.limits.call_deadline) {
            Some(why) => {
                tracing::debug!(error = format!("{e:?}"), "{why}");
                why.into()
            }
            None => e,
        }
    }

    /// Segments' infos in stream order, checked as one stream: each
    /// finding with the index of the segment it falls on.
    pub async fn check_stream(&self, segments: &[Option<SegmentInfo>]) -> Result<Vec<(usize, Finding)>> {
        let (_slot, mut store, r) = self.instance(PolicyHooks::deny_all()).await?;
        let segments: Vec<Option<types::SegmentInfo>> = segments.iter().cloned().map(|s| s.map(Into::into)).collect();
        let found = r
            .streamplace_livepeer_check()
            .call_check_stream(&mut store, &segments)
            .await?;
        Ok(found
            .into_iter()
            .map(|f| (f.segment as usize, f.finding.into()))
            .collect())
    }

    pub async fn split(&self, segment: &[u8]) -> Result<Result<SplitOutput, MediaError>> {
        let (_slot, mut store, r) = self.instance(PolicyHooks::deny_all()).await?;
        let answer = r.streamplace_livepeer_remux().call_split(&mut store, segment).await?;
        Ok(answer.map_err(Into::into))
    }

    /// A progressive MP4; `join_with` for the options.
    pub async fn join(&self, video_ts: &[u8], audio_mp4: &[u8]) -> Result<Result<Vec<u8>, MediaError>> {
        self.join_with(
            video_ts,
            audio_mp4,
            JoinOptions {
                layout: Mp4Layout::Progressive,
            },
        )
        .await
    }

    pub async fn join_with(
        &self,
        video_ts: &[u8],
        audio_mp4: &[u8],
        options: JoinOptions,
    ) -> Result<Result<Vec<u8>, MediaError>> {
        let (_slot, mut store, r) = self.instance(PolicyHooks::deny_all()).await?;
        let answer = r
            .streamplace_livepeer_remux()
            .call_join(&mut store, video_ts, audio_mp4, options)
            .await?;
        Ok(answer.map_err(Into::into))
    }

    /// `bytes` into a fresh instance and back out, unchanged: the floor
    /// under every call that moves bytes through the sandbox (the
    /// instantiation, one copy in, one copy out, and the memory reset).
    /// Only a component of the `bench` world has it; the embedded one does
    /// not, so it is looked up by name rather than bound.
    pub async fn echo(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let (_slot, mut store) = self
            .store_until(PolicyHooks::deny_all(), self.limits.call_deadline)
            .await?;
        let instance = self.pre.instance_pre().instantiate_async(&mut store).await?;
        let interface = format!("streamplace:livepeer/calibrate@{}", crate::components::CONTRACT);
        let echo = instance
            .get_export_index(&mut store, None, &interface)
            .and_then(|i| instance.get_export_index(&mut store, Some(&i), "echo"))
            .with_context(|| format!("the component exports no {interface}#echo (the bench world has it)"))?;
        let echo = instance.get_typed_func::<(&[u8],), (Vec<u8>,)>(&mut store, &echo)?;
        let (out,) = echo.call_async(&mut store, (bytes,)).await?;
        Ok(out)
    }

    pub async fn multipart(&self, content_type: &str, body: &[u8]) -> Result<Result<Vec<Part>, MultipartError>> {
        let (_slot, mut store, r) = self.instance(PolicyHooks::deny_all()).await?;
        let answer = r
            .streamplace_livepeer_multipart()
            .call_parse(&mut store, content_type, body)
            .await?;
        Ok(answer.map_err(Into::into))
    }
}

impl Runtime {
    /// One segment through the gateway, with `hooks` deciding what the
    /// component may reach: `open(hooks)` then `Opened::transcode`.
    pub async fn transcode(
        &self,
        to: &Destination,
        segment: &[u8],
        hooks: PolicyHooks,
        deadline: Duration,
    ) -> Result<RoundTrip> {
        self.open(hooks).await?.transcode(to, segment, deadline).await
    }

    /// An instance for a segment's first call or two: `probe`, whose answer
    /// tells the host where to send it, then `transcode`, which sends it
    /// from the same instance (one instantiation and one memory reset
    /// fewer per segment). Calls get the remux deadline until `transcode`.
    pub async fn open(&self, hooks: PolicyHooks) -> Result<Opened<'_>> {
        let (slot, store, bridge) = self.instance(hooks).await?;
        Ok(Opened {
            runtime: self,
            store,
            bridge,
            slot,
        })
    }
}

/// A segment's instance, holding its pool slot, before the request is
/// sent. See `Runtime::open`.
pub struct Opened<'a> {
    runtime: &'a Runtime,
    store: Store<HostState>,
    bridge: Bridge,
    /// Last: fields drop in order, and the permit goes back only after the
    /// store has released its pool slot.
    slot: OwnedSemaphorePermit,
}

impl Opened<'_> {
    pub async fn probe(&mut self, segment: &[u8]) -> Result<Result<SegmentInfo, MediaError>> {
        let answer = self
            .bridge
            .streamplace_livepeer_remux()
            .call_probe(&mut self.store, segment)
            .await?;
        Ok(answer.map(Into::into).map_err(Into::into))
    }

    /// The round trip, in two calls so that no instance is held while the
    /// gateway transcodes (seconds, against the milliseconds of remuxing):
    /// `send` splits and POSTs, then this store is dropped and its slot
    /// freed; the host keeps the in-flight response (a host object, moved
    /// out of this store's table) and the audio; when the response head is
    /// in, `receive` runs in a fresh instance to read and join. Each call's
    /// epoch deadline is `deadline`; the caller bounds the whole.
    pub async fn transcode(self, to: &Destination, segment: &[u8], deadline: Duration) -> Result<RoundTrip> {
        let Opened {
            runtime,
            mut store,
            bridge: r,
            slot,
        } = self;
        // Reading the answer sends nothing: its store denies every request.
        let hooks = &store.data().hooks;
        let read_hooks = PolicyHooks {
            refusals: hooks.refusals.clone(),
            timeouts: hooks.timeouts,
            ..PolicyHooks::deny_all()
        };
        store.set_epoch_deadline(epoch_ticks(deadline));
        let request = SegmentRequest {
            gateway: to.gateway.clone(),
            manifest: to.manifest.clone(),
            seq: to.seq,
            profiles: to.profiles.clone(),
            segment: segment.to_vec(),
            join: JoinOptions { layout: to.layout },
            verify: to.verify,
        };
        let sent = r.streamplace_livepeer_session().call_send(&mut store, &request).await?;
        let (response, pending) = match sent {
            Err(e) => {
                return Ok(RoundTrip {
                    answer: Err(e.into()),
                    gateway_wait: Duration::ZERO,
                });
            }
            Ok(Sent { response, pending }) => (store.data_mut().table.delete(response)?, pending),
        };
        // The store first, then its slot (see `Instance`).
        drop((request, store, r));
        drop(slot);
        // No instance from here until the response head arrives.
        let waiting = Instant::now();
        let response = match response {
            HostFutureIncomingResponse::Pending(head) => HostFutureIncomingResponse::Ready(head.await),
            done => done,
        };
        let gateway_wait = waiting.elapsed();
        let (_slot, mut store, r) = runtime.instance_until(read_hooks, deadline).await?;
        let response = store.data_mut().table.push(response)?;
        let answer = r
            .streamplace_livepeer_session()
            .call_receive(&mut store, response, &pending)
            .await?
            .map(|out| Answer {
                info: pending.info.into(),
                renditions: out.renditions.into_iter().map(Into::into).collect(),
            })
            .map_err(Into::into);
        Ok(RoundTrip { answer, gateway_wait })
    }
}

fn epoch_ticks(deadline: Duration) -> u64 {
    (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// Where a segment goes and as what: a `SegmentRequest` but for the bytes,
/// which are copied into the request only once an instance slot is free,
/// so that segments queued for a slot hold no second copy.
#[derive(Clone, Debug)]
pub struct Destination {
    pub gateway: String,
    pub manifest: String,
    pub seq: u64,
    pub profiles: Vec<Profile>,
    /// How each rendition's MP4 is laid out.
    pub layout: Mp4Layout,
    /// What the component does with its checks of each rendition.
    pub verify: VerifyMode,
}

/// A round trip's answer, and the time the host spent waiting on the
/// gateway with no instance held: from the end of `send` (the body handed
/// to the connection, which uploads what it has not sent yet) to the
/// response head. The rest of the round trip is the host's own overhead:
/// splitting, reading and joining the answer, and queueing for a slot.
pub struct RoundTrip {
    pub answer: Result<Answer, TranscodeError>,
    pub gateway_wait: Duration,
}

/// A segment's renditions, with what `send` read of the segment.
#[derive(Debug)]
pub struct Answer {
    pub info: SegmentInfo,
    pub renditions: Vec<Rendition>,
}

fn engine(limits: &Limits) -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // A pool of pre-reserved instance slots: instantiation is a few
    // microseconds and linear memory is reused warm (keep_resident).
    let mut pool = PoolingAllocationConfig::default();
    let n = limits.concurrent_calls.max(1);
    // Twice the call permits: headroom while a finished store is torn down.
    pool.total_component_instances(n * 2)
        .total_core_instances(n * 16)
        .total_memories(n * 4)
        .total_tables(n * 8)
        .max_memory_size(limits.memory_bytes)
        .linear_memory_keep_resident(limits.keep_resident_bytes)
        .max_unused_warm_slots(WARM_SLOTS)
        .table_keep_resident(64 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config.epoch_interruption(true);
    // Explicit bounds checks instead of guard pages. With guard pages, a
    // slot's accessible size is reset with `mprotect` at every instantiation
    // and grown with `mprotect` again as the guest grows its memory; on warm
    // (resident) slots that walks every page table entry twice per call, and
    // it was a quarter of a 60 s split's time here (`change_pte_range`).
    // Without them a warm slot stays read/write and the checks cost less.
    config.signals_based_traps(false).memory_guard_size(0);
    // `perf` names the guest's functions from /tmp/perf-<pid>.map.
    if limits.perf_map {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    let engine = Engine::new(&config)?;
    // One ticker per engine; it ends when the engine is gone.
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("lpbridge-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(engine)
}

/// What a file is when it is not a WebAssembly component, in a few words,
/// before wasmtime's own (longer) account of it: a component's preamble
/// is `\0asm`, a version, and layer 1.
fn not_a_component(bytes: &[u8]) -> Option<String> {
    match bytes.get(..8) {
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => None,
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {
            Some("a core WebAssembly module, not a component (`lpbridge component bridge -o FILE` writes one)".into())
        }
        _ => Some(format!(
            "not WebAssembly: it starts with {:02x?}",
            &bytes[..bytes.len().min(8)]
        )),
    }
}

fn compile(engine: &Engine, component: &[u8]) -> Result<Component> {
    Component::new(engine, component)
        .map_err(anyhow::Error::from)
        .context("compile the component")
}

/// The compiled component from `dir`, or compiled now and left there for
/// the next process. The cache only saves time: a directory that cannot be
/// written is one warning, and the component is compiled as without it.
fn cached(engine: &Engine, component: &[u8], hash: &str, dir: &Path) -> Result<Component> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let file = dir.join(format!("{hash}-{:016x}.cwasm", h.finish()));
    if file.exists() {
        // SAFETY: the file is one this program wrote from a component whose
        // hash is in its name, in the operator's cache directory; a file
        // from another engine configuration is refused by wasmtime.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize_file(engine, &file) };
        match loaded {
            Ok(c) => {
                tracing::debug!(file = %file.display(), "compiled component loaded from the cache");
                return Ok(c);
            }
            Err(e) => tracing::warn!(file = %file.display(), error = %e, "cached component unusable; compiling"),
        }
    }
    let compiled = compile(engine, component)?;
    let stored = compiled.serialize().map_err(anyhow::Error::from).and_then(|bytes| {
        std::fs::create_dir_all(dir)?;
        // One temporary name per process: two processes filling the
        // cache at once each rename a whole file into place.
        let tmp = file.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &file)?;
        Ok(())
    });
    match stored {
        Ok(()) => tracing::debug!(file = %file.display(), "compiled component stored in the cache"),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "component cache not writable; compiling on every start")
        }
    }
    Ok(compiled)
}

/// The default cache directory: `$XDG_CACHE_HOME/lpbridge`, else
/// `~/.cache/lpbridge` (the XDG base directory rules); none without a home.
pub fn default_cache_dir() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| std::env::var_os("HOME").and_then(absolute).map(|h| h.join(".cache")))
        .map(|d| d.join("lpbridge"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses a component of another `streamplace:livepeer` version, naming
/// both: linking it would fail on the first type that changed, with a
/// message about that type rather than the version.
fn check_contract(engine: &Engine, component: &Component) -> Result<()> {
    let prefix = "streamplace:livepeer/";
    let theirs: Vec<String> = component
        .component_type()
        .exports(engine)
        .filter_map(|(name, _)| {
            name.strip_prefix(prefix)
                .map(|n| n.split_once('@').map_or("", |v| v.1).to_string())
        })
        .collect();
    if theirs.is_empty() {
        anyhow::bail!(
            "the component exports no {prefix} interface; this host speaks streamplace:livepeer@{}",
            crate::components::CONTRACT
        );
    }
    // The version that differs, not merely the first listed.
    match theirs.iter().find(|t| *t != crate::components::CONTRACT) {
        Some(v) => anyhow::bail!(
            "the component speaks streamplace:livepeer@{v}; this host speaks streamplace:livepeer@{}",
            crate::components::CONTRACT
        ),
        None => Ok(()),
    }
}
