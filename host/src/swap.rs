//! Hot swap of the component: a changed `--component` file, SIGHUP or
//! `POST /admin/reload` compiles the new file (or loads it from the cache),
//! checks it, and swaps it in. Calls already running finish on the old one;
//! a component that does not compile, link or pass the check is refused and
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

    /// Loads the component file again; returns the hash now serving.
    pub async fn reload(&self) -> Result<String> {
        let _one = self.lock.lock().await;
        let Some(path) = &self.path else {
            bail!("this server runs the built-in component; start it with --component PATH to reload");
        };
        let bytes = tokio::fs::read(path)
            .await
            .with_context(|| format!("read {}", path.display()))?;
        let (limits, cache) = (self.limits, self.cache.clone());
        let runtime =
            tokio::task::spawn_blocking(move || Runtime::with_cache(&bytes, limits, cache.as_deref())).await??;
        if runtime.hash == self.bridge.runtime().hash {
            return Ok(runtime.hash);
        }
        self_check(&runtime, self.check_segment.as_deref())
            .await
            .context("the new component failed its self-check")?;
        let hash = runtime.hash.clone();
        self.bridge.swap(runtime);
        tracing::info!(component = %hash, "component swapped in");
        Ok(hash)
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
