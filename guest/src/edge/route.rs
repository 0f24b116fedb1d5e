//! Which of the edge's routes a request is for.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `POST /live/{manifest}/{seq}.mp4`: go-livepeer's push endpoint, with
    /// an MP4 in and MP4s out.
    Segment {
        manifest: String,
        seq: u64,
    },
    /// `POST /v1/probe`.
    Probe,
    /// `POST /v1/check`.
    Check,
    /// `GET /healthz`.
    Health,
    /// A segment path whose manifest or seq cannot name a segment.
    BadSegment(String),
    /// A known path with another method.
    WrongMethod,
    NotFound,
}

impl Route {
    /// `path` is the request's path with its query, as `wasi:http` gives it.
    pub fn of(method: &str, path: &str) -> Route {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        if let Some(rest) = path.strip_prefix("/live/") {
            if method != "POST" {
                return Route::WrongMethod;
            }
            return segment(rest);
        }
        match (method, path) {
            ("POST", "/v1/probe") => Route::Probe,
            ("POST", "/v1/check") => Route::Check,
            ("GET", "/healthz") => Route::Health,
            (_, "/v1/probe" | "/v1/check" | "/healthz") => Route::WrongMethod,
            _ => Route::NotFound,
        }
    }
}

/// `{manifest}/{seq}.mp4`, with the manifest as the gateway will take it.
fn segment(rest: &str) -> Route {
    let Some((manifest, file)) = rest.split_once('/') else {
        return Route::BadSegment("the path is /live/{manifest}/{seq}.mp4".into());
    };
    let Some(seq) = file.strip_suffix(".mp4") else {
        return Route::BadSegment(format!("{file:?}: a segment is {{seq}}.mp4"));
    };
    if manifest.is_empty()
        || !manifest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Route::BadSegment(format!("manifest {manifest:?}: it must be [A-Za-z0-9_-]+"));
    }
    let digits = !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit());
    match seq.parse::<u64>() {
        Ok(n) if digits => Route::Segment {
            manifest: manifest.to_string(),
            seq: n,
        },
        _ => Route::BadSegment(format!("seq {seq:?}: it must be a whole number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            Route::of("POST", "/live/m-1_x/42.mp4?x=1"),
            Route::Segment {
                manifest: "m-1_x".into(),
                seq: 42
            }
        );
        assert_eq!(Route::of("POST", "/v1/probe"), Route::Probe);
        assert_eq!(Route::of("POST", "/v1/check"), Route::Check);
        assert_eq!(Route::of("GET", "/v1/check"), Route::WrongMethod);
        assert_eq!(Route::of("GET", "/healthz"), Route::Health);
        assert_eq!(Route::of("GET", "/live/m/1.mp4"), Route::WrongMethod);
        assert_eq!(Route::of("GET", "/v1/probe"), Route::WrongMethod);
        assert_eq!(Route::of("POST", "/healthz"), Route::WrongMethod);
        assert_eq!(Route::of("GET", "/"), Route::NotFound);
        for bad in [
            "/live/m",
            "/live/m/1.ts",
            "/live/../1.mp4",
            "/live/m/x.mp4",
            "/live/m/+1.mp4",
            "/live//1.mp4",
        ] {
            assert!(matches!(Route::of("POST", bad), Route::BadSegment(_)), "{bad}");
        }
    }
}
