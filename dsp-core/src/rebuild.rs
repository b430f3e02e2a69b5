//! Building DAC stages off the audio thread.
//!
//! The audio thread sends a request (a `Copy` value) through a lock-free SPSC ring
//! ([`rtrb`]); a worker thread builds the stage (allocating, designing filters) and sends
//! the boxed stage back through a second ring; the audio thread sends the stage it retires
//! through a third ring, so it is freed on the worker, never on the audio thread. Pushing
//! and popping never allocate or lock. The worker polls every [`IDLE_POLL`] while idle:
//! a rebuild waits at most that long to start, invisible next to the design time, and an
//! idle instance wakes 100 times a second rather than 1000.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::dac::stage::{DacConfig, DacStage, StageLayout};
use crate::headphones::CustomLoad;

/// What to build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub config: DacConfig,
    pub layout: StageLayout,
}

/// The audio thread's end of the worker.
pub struct Rebuilder {
    requests: rtrb::Producer<Request>,
    results: rtrb::Consumer<Box<DacStage>>,
    retired: rtrb::Producer<Box<DacStage>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const RING: usize = 8;

/// How long the idle worker sleeps between looks at the request ring.
pub const IDLE_POLL: Duration = Duration::from_millis(10);

impl Rebuilder {
    /// Start the worker thread (allocates; not on the audio thread). Stages with a custom
    /// load take its curve from `custom`.
    pub fn spawn(custom: CustomLoad) -> Self {
        let (requests, mut request_rx) = rtrb::RingBuffer::<Request>::new(RING);
        let (mut result_tx, results) = rtrb::RingBuffer::<Box<DacStage>>::new(RING);
        let (retired, mut retired_rx) = rtrb::RingBuffer::<Box<DacStage>>::new(RING);
        let stop = Arc::new(AtomicBool::new(false));
        let stop_worker = stop.clone();
        let thread = std::thread::Builder::new()
            .name("sourcery-rebuild".into())
            .spawn(move || {
                while !stop_worker.load(Ordering::Acquire) {
                    // Free what the audio thread retired.
                    while let Ok(stage) = retired_rx.pop() {
                        drop(stage);
                    }
                    // Build only the newest request.
                    let mut latest = None;
                    while let Ok(request) = request_rx.pop() {
                        latest = Some(request);
                    }
                    match latest {
                        Some(request) => {
                            let stage = Box::new(DacStage::with_custom_load(
                                &request.config,
                                request.layout,
                                &custom,
                            ));
                            // If the audio thread is not collecting, drop the stage here.
                            let _ = result_tx.push(stage);
                        }
                        None => std::thread::sleep(IDLE_POLL),
                    }
                }
            })
            .expect("spawn the rebuild thread");
        Self {
            requests,
            results,
            retired,
            stop,
            thread: Some(thread),
        }
    }

    /// Ask for a stage. Returns `false` if the ring is full (try again next block).
    pub fn request(&mut self, request: Request) -> bool {
        self.requests.push(request).is_ok()
    }

    /// A finished stage, if one arrived.
    pub fn take_result(&mut self) -> Option<Box<DacStage>> {
        self.results.pop().ok()
    }

    /// Hand a stage back to be freed on the worker. Gives it back if the ring is full.
    pub fn retire(&mut self, stage: Box<DacStage>) -> Result<(), Box<DacStage>> {
        self.retired
            .push(stage)
            .map_err(|rtrb::PushError::Full(stage)| stage)
    }
}

impl Drop for Rebuilder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
