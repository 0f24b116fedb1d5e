//! Planar I420 pictures and the SIMD scaler between them.
//!
//! Decoded pictures are copied out of openh264's buffers once, into tight
//! planes, so every rendition thread can share them behind an `Arc` while
//! the decoder moves on.

use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::U8;
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use openh264::formats::YUVSource;

use crate::error::TranscodeError;

/// One 4:2:0 picture with tight planes (stride = width).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

impl Picture {
    /// A black picture; odd sizes get rounded-up chroma planes.
    pub fn new(width: u32, height: u32) -> Self {
        let (cw, ch) = chroma_size(width, height);
        Picture {
            width,
            height,
            y: vec![16; (width * height) as usize],
            u: vec![128; (cw * ch) as usize],
            v: vec![128; (cw * ch) as usize],
        }
    }

    /// Copies a decoder's (strided) output. A plane shorter than its
    /// declared size is an error, never a read past its end.
    pub fn copy_from(src: &impl YUVSource) -> Result<Self, TranscodeError> {
        let (w, h) = src.dimensions();
        let (sy, su, sv) = src.strides();
        let (cw, ch) = chroma_size(w as u32, h as u32);
        let (cw, ch) = (cw as usize, ch as usize);
        let plane = |data: &[u8], stride: usize, pw: usize, ph: usize| -> Result<Vec<u8>, TranscodeError> {
            if stride < pw || data.len() < stride * (ph.max(1) - 1) + pw {
                return Err(TranscodeError::Codec(format!(
                    "decoder gave a {pw}x{ph} plane in {} bytes with stride {stride}",
                    data.len()
                )));
            }
            let mut out = Vec::with_capacity(pw * ph);
            for row in 0..ph {
                out.extend_from_slice(&data[row * stride..row * stride + pw]);
            }
            Ok(out)
        };
        Ok(Picture {
            width: w as u32,
            height: h as u32,
            y: plane(src.y(), sy, w, h)?,
            u: plane(src.u(), su, cw, ch)?,
            v: plane(src.v(), sv, cw, ch)?,
        })
    }
}

pub fn chroma_size(width: u32, height: u32) -> (u32, u32) {
    (width.div_ceil(2), height.div_ceil(2))
}

/// What the encoder reads: the planes with their strides.
impl YUVSource for Picture {
    fn dimensions(&self) -> (usize, usize) {
        (self.width as usize, self.height as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        let (cw, _) = chroma_size(self.width, self.height);
        (self.width as usize, cw as usize, cw as usize)
    }

    fn y(&self) -> &[u8] {
        &self.y
    }

    fn u(&self) -> &[u8] {
        &self.u
    }

    fn v(&self) -> &[u8] {
        &self.v
    }
}

/// Scales pictures to one size, plane by plane, with fast_image_resize's
/// SIMD convolution (bilinear: the sharpness of the downscale matters less
/// than its cost at 30 frames a second per rendition). The planes are
/// typed as 8-bit (`resize_typed::<U8>`): the untyped `resize` dispatches
/// over every pixel type, and compiling all of them took ~60 s of LLVM
/// time in the first build for kernels we never call.
pub struct Scaler {
    resizer: Resizer,
    options: ResizeOptions,
}

impl Default for Scaler {
    fn default() -> Self {
        Scaler {
            resizer: Resizer::new(),
            options: ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        }
    }
}

impl Scaler {
    /// `src` scaled to `width`×`height` into `dst` (its buffers reused).
    pub fn scale_into(&mut self, src: &Picture, dst: &mut Picture) -> Result<(), TranscodeError> {
        let (scw, sch) = chroma_size(src.width, src.height);
        let (dcw, dch) = chroma_size(dst.width, dst.height);
        let planes = [
            (&src.y, src.width, src.height, &mut dst.y, dst.width, dst.height),
            (&src.u, scw, sch, &mut dst.u, dcw, dch),
            (&src.v, scw, sch, &mut dst.v, dcw, dch),
        ];
        for (from, fw, fh, to, tw, th) in planes {
            to.resize((tw * th) as usize, 0);
            let from =
                TypedImageRef::<U8>::from_buffer(fw, fh, from).map_err(|e| TranscodeError::Codec(e.to_string()))?;
            let mut to = TypedImage::<U8>::from_buffer(tw, th, to).map_err(|e| TranscodeError::Codec(e.to_string()))?;
            self.resizer
                .resize_typed(&from, &mut to, &self.options)
                .map_err(|e| TranscodeError::Codec(e.to_string()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_keeps_flat_colour_and_size() {
        let mut src = Picture::new(64, 36);
        src.y.fill(200);
        src.u.fill(90);
        let mut dst = Picture::new(32, 18);
        Scaler::default().scale_into(&src, &mut dst).unwrap();
        assert_eq!(dst.y.len(), 32 * 18);
        assert!(dst.y.iter().all(|&p| p == 200));
        assert!(dst.u.iter().all(|&p| p == 90));
        assert!(dst.v.iter().all(|&p| p == 128));
    }

    #[test]
    fn odd_sizes_round_chroma_up() {
        let p = Picture::new(321, 241);
        assert_eq!(p.u.len(), 161 * 121);
        assert_eq!(p.strides(), (321, 161, 161));
    }
}
