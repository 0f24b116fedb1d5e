//! Hot swap of the component: a changed `--component` file, SIGHUP or
//! `POST /admin/reload` compiles the new file (or loads it from the cache),
//! checks it, and swaps it in, or, with `--canary-share`, puts it on
//! probation (`canary`), as `POST /admin/canary` does with a component
//! sent in its body. Calls already running finish on the old one; a
//! component that does not compile, link or pass the check is refused and
//! the old one keeps serving.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail, ensure};
use tokio::sync::Mutex;

use crate::bindings::multipart::PartBody;
use crate::bridge::Bridge;
use crate::runtime::{Limits, Runtime};
use lpbridge_contract::MediaError;

pub struct Reloader {
    pub bridge: Arc<Bridge>,
    pub path: Option<PathBuf>,
    pub limits: Limits,
    pub cache: Option<PathBuf>,
    /// A segment the new component must split and join.
    pub check_segment: Option<Vec<u8>>,
    /// One reload at a time.
    lock: Mutex<()>,
}

impl Reloader {
    pub fn new(
        bridge: Arc<Bridge>,
        path: Option<PathBuf>,
        limits: Limits,
        cache: Option<PathBuf>,
        check_segment: Option<Vec<u8>>,
    ) -> Self {
        Reloader {
            bridge,
            path,
            limits,
            cache,
            check_segment,
            lock: Mutex::new(()),
        }
    }

    /// Loads the component file again; returns the hash now serving, or,
    /// with `--canary-share`, the candidate's.
    pub async fn reload(&self) -> Result<Reloaded> {
        let _one = self.lock.lock().await;
        let Some(path) = &self.path else {
            bail!("this server runs the built-in component; start it with --component PATH to reload");
        };
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("read {}", path.display()))?;
        let runtime = self.compiled(bytes).await?;
        if runtime.hash == self.bridge.runtime().hash {
            return Ok(Reloaded::Serving(runtime.hash));
        }
        self.check(&runtime).await?;
        if self.bridge.config().canary.on_reload {
            let expect_diff = self.bridge.config().canary.expect_diff;
            return self.shadow(runtime, expect_diff).await.map(Reloaded::Candidate);
        }
        let hash = runtime.hash.clone();
        self.bridge.swap(runtime);
        tracing::info!(component = %hash, "component swapped in");
        Ok(Reloaded::Serving(hash))
    }

    /// `POST /admin/canary`: `bytes` on probation; returns its hash.
    pub async fn canary(&self, bytes: Vec<u8>, expect_diff: bool) -> Result<String> {
        let _one = self.lock.lock().await;
        let runtime = self.compiled(bytes).await?;
        self.check(&runtime).await?;
        self.shadow(runtime, expect_diff).await
    }

    /// A component compiled (or loaded from the cache) and linked to this
    /// host's contract.
    async fn compiled(&self, bytes: Vec<u8>) -> Result<Runtime> {
        let (limits, cache) = (self.limits, self.cache.clone());
        tokio::task::spawn_blocking(move || Runtime::with_cache(&bytes, limits, cache.as_deref())).await?
    }

    /// What a new component must pass before it serves or shadows.
    async fn check(&self, runtime: &Runtime) -> Result<()> {
        self_check(runtime, self.check_segment.as_deref())
            .await
            .context("the new component failed its self-check")
    }

    /// `runtime` on probation, beside a copy of the serving component in a
    /// pool of one call (the shadow's reference).
    async fn shadow(&self, runtime: Runtime, expect_diff: bool) -> Result<String> {
        let serving = self.bridge.runtime();
        let limits = Limits {
            concurrent_calls: 1,
            ..self.limits
        };
        let cache = self.cache.clone();
        let reference = tokio::task::spawn_blocking(move || serving.copy(limits, cache.as_deref())).await??;
        Ok(self.bridge.canary.start(runtime, reference, expect_diff))
    }

    /// Polls the file every `every` and reloads when it changes.
    pub fn watch(self: Arc<Self>, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let path = self.path.clone()?;
        let stamp = move || -> Option<(SystemTime, u64)> {
            let m = std::fs::metadata(&path).ok()?;
            Some((m.modified().ok()?, m.len()))
        };
        Some(tokio::spawn(async move {
            let mut last = stamp();
            loop {
                tokio::time::sleep(every).await;
                let now = stamp();
                if now.is_some() && now != last {
                    last = now;
                    if let Err(e) = self.reload().await {
                        tracing::error!(
                            error = format!("{e:#}"),
                            "component change refused; the old one keeps serving"
                        );
                    }
                }
            }
        }))
    }
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// This component serves (the new one, or the same one again).
    Serving(String),
    /// The new one is on probation (`--canary-share`).
    Candidate(String),
}

/// What a component must do before it serves: parse a known multipart body,
/// answer junk with a typed error (not a trap), and split and join a real
/// segment when one is configured.
pub async fn self_check(runtime: &Runtime, segment: Option<&[u8]>) -> Result<()> {
    let body = b"--b0\r\nRendition-Name: check\r\n\r\nabc\r\n--b0--\r\n";
    let parts = runtime
        .multipart("multipart/mixed; boundary=b0", body)
        .await?
        .map_err(|e| anyhow::anyhow!("its multipart parse of a known body failed: {e}"))?;
    ensure!(
        parts.len() == 1
            && parts[0].name.as_deref() == Some("check")
            && matches!(&parts[0].body, PartBody::Bytes(b) if b == b"abc"),
        "its multipart parse of a known body gave {} parts, not the one part \"check\" with \"abc\"",
        parts.len()
    );
    match runtime.probe(b"\0\0\0\x10\xff\xfe\xfd\xfcjunkjunk").await? {
        Err(MediaError::Malformed { .. }) => {}
        Err(other) => anyhow::bail!("it answered junk bytes with \"{other}\", not as malformed"),
        Ok(_) => anyhow::bail!("it read junk bytes as a segment"),
    }
    if let Some(segment) = segment {
        let split = runtime
            .split(segment)
            .await?
            .map_err(|e| anyhow::anyhow!("its split of the self-check segment failed: {e}"))?;
        let joined = runtime
            .join(&split.video_ts, &split.audio_mp4)
            .await?
            .map_err(|e| anyhow::anyhow!("its join of the self-check segment failed: {e}"))?;
        let info = runtime
            .probe(&joined)
            .await?
            .map_err(|e| anyhow::anyhow!("its probe of the joined self-check segment failed: {e}"))?;
        ensure!(
            info.video.as_ref().map(|v| v.frames) == split.info.video.as_ref().map(|v| v.frames),
            "split and join lost frames"
        );
    }
    Ok(())
}
