//! Building chains off the audio thread.
//!
//! The audio thread sends a request (a `Copy` value) through a lock-free SPSC ring
//! ([`rtrb`]); a worker thread resolves it against the catalogue it was handed (devices,
//! headphones, the imported curve), builds the chain (allocating, designing filters) and
//! sends it back boxed through a second ring; the audio thread sends the chain it retires
//! through a third ring, so it is freed on the worker, never on the audio thread. Pushing
//! and popping never allocate or lock. The worker parks for at most [`IDLE_POLL`] while
//! idle: a rebuild asked for from the audio thread waits at most that long to start
//! (invisible next to the design time; the audio thread never makes the wake-up system
//! call), and an idle instance wakes 100 times a second. Paths off the audio thread
//! ([`Rebuilder::wake`]: offline renders, blocking installs, drop) wake it at once, so
//! dropping an engine does not wait out the poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::chain::Chain;
use crate::clocks::ChainLayout;
use crate::load::CustomLoad;
use crate::presets::Catalogue;
use crate::settings::ChainRequest;

/// What to build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub chain: ChainRequest,
    pub layout: ChainLayout,
}

/// A chain and the request it was built for.
pub struct Built {
    pub request: Request,
    pub chain: Chain,
}

impl Built {
    /// Resolve and build `request` (allocates; tens of ms: off the audio thread).
    pub fn new(request: Request, catalogue: &Catalogue, custom: &CustomLoad) -> Self {
        let config = request.chain.resolve(catalogue, custom);
        Self {
            request,
            chain: Chain::new(&config, request.layout),
        }
    }
}

/// The audio thread's end of the worker.
pub struct Rebuilder {
    requests: rtrb::Producer<Request>,
    results: rtrb::Consumer<Box<Built>>,
    retired: rtrb::Producer<Box<Built>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const RING: usize = 8;

/// How long the idle worker sleeps between looks at the request ring.
pub const IDLE_POLL: Duration = Duration::from_millis(10);

impl Rebuilder {
    /// Start the worker thread (allocates; not on the audio thread). Requests are resolved
    /// against `catalogue`; a custom load takes its curve from `custom`.
    pub fn spawn(catalogue: Catalogue, custom: CustomLoad) -> Self {
        let (requests, mut request_rx) = rtrb::RingBuffer::<Request>::new(RING);
        let (mut result_tx, results) = rtrb::RingBuffer::<Box<Built>>::new(RING);
        let (retired, mut retired_rx) = rtrb::RingBuffer::<Box<Built>>::new(RING);
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
                            let stage = Box::new(Built::new(request, &catalogue, &custom));
                            // If the audio thread is not collecting, drop the stage here.
                            let _ = result_tx.push(stage);
                        }
                        None => std::thread::park_timeout(IDLE_POLL),
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

    /// Ask for a chain. Returns `false` if the ring is full (try again next block).
    pub fn request(&mut self, request: Request) -> bool {
        self.requests.push(request).is_ok()
    }

    /// Wake the worker now rather than at its next poll. A system call (futex wake): for
    /// threads that may block, not for the audio thread in real time.
    pub fn wake(&self) {
        if let Some(thread) = &self.thread {
            thread.thread().unpark();
        }
    }

    /// A finished chain, if one arrived.
    pub fn take_result(&mut self) -> Option<Box<Built>> {
        self.results.pop().ok()
    }

    /// Hand a chain back to be freed on the worker. Gives it back if the ring is full.
    pub fn retire(&mut self, stage: Box<Built>) -> Result<(), Box<Built>> {
        self.retired
            .push(stage)
            .map_err(|rtrb::PushError::Full(stage)| stage)
    }
}

impl Drop for Rebuilder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
