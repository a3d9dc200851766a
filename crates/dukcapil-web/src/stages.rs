//! Where `prepareSelfie`'s time goes, for `cargo xtask bench browser`. Built only with the
//! `stage-timing` feature (the benchmark's own build); in the published module the stopwatch
//! is an empty type and every call compiles to nothing.

use dukcapil_selfie::{Probe, Stage};

#[cfg(feature = "stage-timing")]
mod imp {
    use crate::js;
    use js_sys::Object;
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsValue;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance)]
        fn now() -> f64;
    }

    /// Milliseconds per named stage, summed when a stage repeats (the size search's encodes).
    pub struct Stopwatch {
        current: Option<(&'static str, f64)>,
        totals: Vec<(&'static str, f64, u32)>,
    }

    impl Stopwatch {
        pub fn start() -> Stopwatch {
            Stopwatch {
                current: None,
                totals: Vec::new(),
            }
        }

        /// Ends the running stage and starts `name`.
        pub fn lap(&mut self, name: &'static str) {
            let t = now();
            if let Some((prev, since)) = self.current.take() {
                match self.totals.iter_mut().find(|(n, _, _)| *n == prev) {
                    Some(entry) => {
                        entry.1 += t - since;
                        entry.2 += 1;
                    }
                    None => self.totals.push((prev, t - since, 1)),
                }
            }
            self.current = Some((name, t));
        }

        /// Ends the last stage and puts `{ stage: ms, …, encodeCount }` on `result.stages`.
        pub fn stop(mut self, result: &JsValue) {
            self.lap("");
            let o = Object::new();
            for (name, ms, count) in &self.totals {
                js::set(&o, name, *ms);
                if *name == "encode" {
                    js::set(&o, "encodeCount", *count);
                }
            }
            if let Some(r) = result.dyn_ref::<Object>() {
                js::set(r, "stages", o);
            }
        }
    }
}

#[cfg(not(feature = "stage-timing"))]
mod imp {
    use wasm_bindgen::JsValue;

    pub struct Stopwatch;

    impl Stopwatch {
        #[inline(always)]
        pub fn start() -> Stopwatch {
            Stopwatch
        }
        #[inline(always)]
        pub fn lap(&mut self, _: &'static str) {}
        #[inline(always)]
        pub fn stop(self, _: &JsValue) {}
    }
}

pub use imp::Stopwatch;

impl Probe for Stopwatch {
    fn stage(&mut self, stage: Stage) {
        self.lap(match stage {
            Stage::Convert => "convert",
            Stage::Resize => "resize",
            Stage::Measure => "measure",
            Stage::Transform => "dct",
            Stage::Encode => "encode",
            Stage::Done => "done",
        });
    }
}
