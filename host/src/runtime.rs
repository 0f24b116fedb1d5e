//! Loads the remux component once and runs each call in a fresh `Store`
//! instantiated from a pre-linked `InstancePre` (about 60 µs), so a trap or
//! a leak in one call cannot touch the next. Each store has a memory cap.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::types::{
    JoinOptions, MediaError, MultipartError, Part, SegmentInfo, SplitOutput,
};
use crate::bindings::{Remuxer, RemuxerPre};

/// Per-call resource limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Linear memory a single call may grow to.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        // A 60 s 1080p segment is ~25 MB; split holds it about three times.
        Limits {
            memory_bytes: 1 << 30,
        }
    }
}

/// What a store carries: an empty WASI context (no files, no env, no
/// network: the remuxer needs none) and the limiter.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// A compiled, linked remux component.
pub struct Runtime {
    engine: Engine,
    pre: RemuxerPre<HostState>,
    limits: Limits,
    /// SHA-256 of the component bytes, hex.
    pub hash: String,
}

impl Runtime {
    pub fn new(component: &[u8], limits: Limits) -> Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        let engine = Engine::new(&config)?;
        let compiled = Component::new(&engine, component)
            .map_err(anyhow::Error::from)
            .context("compile the remux component")?;
        let mut linker = Linker::<HostState>::new(&engine);
        // Rust's std makes every component import wasi:cli and friends.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let pre = RemuxerPre::new(linker.instantiate_pre(&compiled)?)
            .map_err(anyhow::Error::from)
            .context("component does not export the remuxer world")?;
        Ok(Runtime {
            engine,
            pre,
            limits,
            hash: hex(&Sha256::digest(component)),
        })
    }

    /// The component built by cargo and embedded in this binary.
    pub fn embedded(limits: Limits) -> Result<Self> {
        Self::new(crate::EMBEDDED_COMPONENT, limits)
    }

    async fn instance(&self) -> Result<(Store<HostState>, Remuxer)> {
        let state = HostState {
            wasi: WasiCtxBuilder::new().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(self.limits.memory_bytes)
                .instances(4)
                .build(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let instance = self.pre.instantiate_async(&mut store).await?;
        Ok((store, instance))
    }

    pub async fn probe(&self, segment: &[u8]) -> Result<Result<SegmentInfo, MediaError>> {
        let (mut store, r) = self.instance().await?;
        Ok(r.streamplace_livepeer_remux()
            .call_probe(&mut store, segment)
            .await?)
    }

    pub async fn split(&self, segment: &[u8]) -> Result<Result<SplitOutput, MediaError>> {
        let (mut store, r) = self.instance().await?;
        Ok(r.streamplace_livepeer_remux()
            .call_split(&mut store, segment)
            .await?)
    }

    pub async fn join(
        &self,
        video_ts: &[u8],
        audio_mp4: &[u8],
    ) -> Result<Result<Vec<u8>, MediaError>> {
        let (mut store, r) = self.instance().await?;
        let options = JoinOptions { fragmented: false };
        Ok(r.streamplace_livepeer_remux()
            .call_join(&mut store, video_ts, audio_mp4, options)
            .await?)
    }

    pub async fn multipart(
        &self,
        content_type: &str,
        body: &[u8],
    ) -> Result<Result<Vec<Part>, MultipartError>> {
        let (mut store, r) = self.instance().await?;
        Ok(r.streamplace_livepeer_multipart()
            .call_parse(&mut store, content_type, body)
            .await?)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
