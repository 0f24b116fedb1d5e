//! The `lpbridge` command line. Every subcommand runs the remux component
//! (the embedded one, or `--component PATH`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use crate::bindings::types::PartBody;
use crate::errors::ComponentError;
use crate::runtime::{Limits, Runtime};

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

    /// Linear memory one component call may use, in MiB.
    #[arg(
        long,
        global = true,
        env = "LPBRIDGE_MEMORY_MIB",
        default_value_t = 1024
    )]
    pub memory_mib: usize,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print what a segment holds, as JSON.
    Probe { segment: PathBuf },
    /// Split a segment into a video-only MPEG-TS and an audio-only MP4.
    Split {
        segment: PathBuf,
        #[arg(long)]
        video_ts: PathBuf,
        #[arg(long)]
        audio_mp4: PathBuf,
    },
    /// Join a rendition's TS with the audio MP4 from `split` into one MP4.
    Join {
        #[arg(long)]
        video_ts: PathBuf,
        #[arg(long)]
        audio_mp4: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// List the parts of a multipart/mixed body; `--out` writes them.
    Multipart {
        /// The Content-Type header that came with the body.
        #[arg(long)]
        content_type: String,
        body: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub async fn run(cli: Cli) -> Result<()> {
    let limits = Limits {
        memory_bytes: cli.memory_mib << 20,
        ..Limits::default()
    };
    let runtime = match &cli.component {
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("read component {}", path.display()))?;
            Runtime::new(&bytes, limits)?
        }
        None => Runtime::embedded(limits)?,
    };
    match cli.command {
        Command::Probe { segment } => {
            let info = runtime
                .probe(&read(&segment)?)
                .await?
                .map_err(ComponentError::from)?;
            println!("{}", serde_json::to_string_pretty(&info)?);
        }
        Command::Split {
            segment,
            video_ts,
            audio_mp4,
        } => {
            let out = runtime
                .split(&read(&segment)?)
                .await?
                .map_err(ComponentError::from)?;
            write(&video_ts, &out.video_ts)?;
            write(&audio_mp4, &out.audio_mp4)?;
            println!("{}", serde_json::to_string_pretty(&out.info)?);
        }
        Command::Join {
            video_ts,
            audio_mp4,
            output,
        } => {
            let mp4 = runtime
                .join(&read(&video_ts)?, &read(&audio_mp4)?)
                .await?
                .map_err(ComponentError::from)?;
            write(&output, &mp4)?;
            println!("{} bytes -> {}", mp4.len(), output.display());
        }
        Command::Multipart {
            content_type,
            body,
            out,
        } => {
            let parts = runtime
                .multipart(&content_type, &read(&body)?)
                .await?
                .map_err(ComponentError::from)?;
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir)?;
            }
            println!(
                "{:<4} {:<16} {:<40} {:>10}",
                "#", "name", "content-type", "bytes"
            );
            for (i, p) in parts.iter().enumerate() {
                let (len, bytes) = match &p.body {
                    PartBody::Bytes(b) => (b.len(), b.as_slice()),
                    PartBody::Url(u) => (u.len(), u.as_bytes()),
                };
                println!(
                    "{:<4} {:<16} {:<40} {:>10}",
                    i,
                    p.name.as_deref().unwrap_or("-"),
                    p.content_type.as_deref().unwrap_or("-"),
                    len
                );
                if let Some(dir) = &out {
                    let name = safe_file_name(p.filename.as_deref().or(p.name.as_deref()), i);
                    write(&dir.join(name), bytes)?;
                }
            }
        }
    }
    Ok(())
}

/// A file name for an untrusted part: its last path component, if that is
/// a plain name, else `part-N`.
pub fn safe_file_name(suggested: Option<&str>, index: usize) -> String {
    let plain = suggested
        .and_then(|s| s.rsplit(['/', '\\']).next())
        .filter(|s| !s.is_empty() && *s != "." && *s != ".." && !s.contains('\0'));
    match plain {
        Some(s) => s.to_string(),
        None => format!("part-{index}"),
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str().is_empty() {
        bail!("empty output path");
    }
    std::fs::write(path, bytes).with_context(|| format!("write {}", path.display()))
}
