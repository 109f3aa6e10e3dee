//! One shard's run: its connections, the pacer that feeds them (open loop) or
//! their own send-as-soon-as-done loop (closed loop), the timeout watchdog,
//! and the drain at the end.
//!
//! Everything here lives on one shard thread: the shard's [`Shard`] is an
//! `Rc`, its queues and counters are `RefCell`/`Cell`, and no lock or atomic
//! is touched on the request path (the only cross-thread state, in [`Plan`],
//! is read at start-up and written once at the end).
//!
//! **Open loop.** The pacer (the shard's main task) computes intended times
//! (`pacer::Schedule`), waits for each with the precise timer and pushes it
//! on the target's [`Dispatch`] queue, waking one idle connection. A
//! connection task pops a time, sends the pre-built request, reads the
//! response and records `done - intended`. If every connection is busy the
//! time waits in the queue, and that wait is part of its latency. A queue
//! longer than `--max-backlog` means the generator is a second or more behind:
//! further requests are dropped and counted rather than queued without bound.
//!
//! **Closed loop.** Each connection sends, waits for the full response and
//! sends again until the window ends; latency is from the actual send.
//!
//! **Timeouts.** A request's deadline is `--timeout` after its send. Rather
//! than arm a timer per request, a watchdog task scans the connections every
//! `timeout/10` (1..100 ms) and shuts down the socket of any request past its
//! deadline, which ends its pending read; the connection then records a
//! timeout and reconnects. The check costs nothing per request.
//!
//! **Per-request cost.** The request is a shared `&'static [u8]`, the read
//! buffer belongs to the connection (`conn`), histograms are preallocated, the
//! dispatch queue is sized up front: a request does one write, the reads it
//! needs, and no allocation.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use monoio::net::TcpStream;
use shards::{ShardInfo, Shutdown};

use crate::cli::{Config, Spin};
use crate::conn::{connect, Conn, Slot};
use crate::pacer::{self, now_ns, PreciseTimer, Schedule};
use crate::stats::{Outcome, Stats, LATE_NS};

/// The pacer yields after this many back-to-back sends when it is behind, so
/// connections get to run.
const PACER_BURST: u32 = 64;
/// How long shards may take to connect before the start is given up.
const START_DEADLINE: Duration = Duration::from_secs(120);

/// Read-only input of every shard, and where they leave their results.
pub struct Plan {
    pub cfg: Config,
    /// The full request per target.
    pub requests: Vec<&'static [u8]>,
    /// Start of the schedule, set by the last shard to finish connecting.
    t0: AtomicU64,
    arrived: AtomicUsize,
    pub results: Mutex<Vec<ShardResult>>,
}

impl Plan {
    pub fn new(cfg: Config, requests: Vec<&'static [u8]>) -> Plan {
        Plan {
            cfg,
            requests,
            t0: AtomicU64::new(0),
            arrived: AtomicUsize::new(0),
            results: Mutex::new(Vec::new()),
        }
    }
}

/// What one shard hands back.
pub struct ShardResult {
    pub index: usize,
    pub driver: &'static str,
    /// One per target.
    pub stats: Vec<Stats>,
    /// How much of the measured window this shard ran (less than
    /// `--duration` only when interrupted).
    pub measured_ns: u64,
    pub error: Option<String>,
}

/// Connections of shard `index` (of `count`) for one target.
pub fn split(total: usize, count: usize, index: usize) -> usize {
    total / count + usize::from(index < total % count)
}

/// Intended send times waiting for a connection, and the idle connections.
struct Dispatch {
    queue: VecDeque<u64>,
    /// Parked connection indices, most recently parked last.
    idle: Vec<usize>,
    parked: Vec<bool>,
    wakers: Vec<Option<Waker>>,
    closed: bool,
}

impl Dispatch {
    fn new(conns: usize, backlog: usize) -> Dispatch {
        Dispatch {
            queue: VecDeque::with_capacity(backlog.min(1 << 20)),
            idle: Vec::with_capacity(conns),
            parked: vec![false; conns],
            wakers: vec![None; conns],
            closed: false,
        }
    }

    fn push(&mut self, t: u64) {
        self.queue.push_back(t);
        if let Some(idx) = self.idle.pop() {
            self.parked[idx] = false;
            if let Some(w) = &self.wakers[idx] {
                w.wake_by_ref();
            }
        }
    }

    fn park(&mut self, idx: usize, waker: &Waker) {
        match &mut self.wakers[idx] {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        if !self.parked[idx] {
            self.parked[idx] = true;
            self.idle.push(idx);
        }
    }

    fn close(&mut self) {
        self.closed = true;
        while let Some(idx) = self.idle.pop() {
            self.parked[idx] = false;
            if let Some(w) = &self.wakers[idx] {
                w.wake_by_ref();
            }
        }
    }
}

/// Resolves to the next intended time for connection `idx`, or `None` once
/// the queue is closed and empty.
struct NextJob<'a> {
    dispatch: &'a RefCell<Dispatch>,
    idx: usize,
}

impl Future for NextJob<'_> {
    type Output = Option<u64>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<u64>> {
        let mut d = self.dispatch.borrow_mut();
        if let Some(t) = d.queue.pop_front() {
            return Poll::Ready(Some(t));
        }
        if d.closed {
            return Poll::Ready(None);
        }
        d.park(self.idx, cx.waker());
        Poll::Pending
    }
}

/// One target as one shard sees it.
pub(crate) struct TargetState {
    pub addr: SocketAddr,
    /// The full request, head and body.
    pub request: &'static [u8],
    dispatch: RefCell<Dispatch>,
    pub stats: RefCell<Stats>,
}

/// Everything one shard's tasks share (through an `Rc`).
pub(crate) struct Shard {
    t0: u64,
    warm_end: u64,
    end: u64,
    slice_ns: u64,
    pub timeout_ns: u64,
    spin: Spin,
    /// Scan responses for SSE events.
    pub stream: bool,
    pub targets: Vec<TargetState>,
    slots: Vec<Rc<Slot>>,
    shutdown: Shutdown,
    yielder: Rc<pacer::Yielder>,
    live: Cell<usize>,
    done: Cell<bool>,
}

/// Counts a connection task as live until it ends.
struct Live(Rc<Shard>);

impl Live {
    fn new(sh: &Rc<Shard>) -> Live {
        sh.live.set(sh.live.get() + 1);
        Live(sh.clone())
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.0.live.set(self.0.live.get() - 1);
    }
}

/// Pins the calling thread to `cpu`.
fn pin_to(cpu: usize) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; `cpu` was range-checked by the CLI.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The future each shard runs.
pub async fn shard_main(info: ShardInfo, plan: Arc<Plan>) {
    let result = run_shard(&info, &plan).await;
    let (stats, measured_ns, error) = match result {
        Ok((stats, measured)) => (stats, measured, None),
        Err(e) => (Vec::new(), 0, Some(format!("shard {}: {e}", info.index))),
    };
    // ok: a poisoned lock means another shard panicked; the run is lost anyway.
    plan.results
        .lock()
        .expect("results lock")
        .push(ShardResult {
            index: info.index,
            driver: info.driver.name(),
            stats,
            measured_ns,
            error,
        });
}

/// Returns the stats per target and how much of the window was measured.
async fn run_shard(info: &ShardInfo, plan: &Arc<Plan>) -> Result<(Vec<Stats>, u64), String> {
    let cfg = &plan.cfg;
    if let Some(cpus) = &cfg.cpus {
        let cpu = cpus[info.index % cpus.len()];
        if let Err(e) = pin_to(cpu) {
            log::warn!("shard {}: could not pin to CPU {cpu}: {e}", info.index);
        }
    }
    let ntargets = cfg.targets.len();
    let conns = split(cfg.connections, info.count, info.index);
    let timeout = cfg.timeout;

    // Connect everything before the clock starts, all at once.
    let mut streams: Vec<Vec<Option<TcpStream>>> = Vec::with_capacity(ntargets);
    for t in &cfg.targets {
        let handles: Vec<_> = (0..conns)
            .map(|_| monoio::spawn(connect(t.addr, timeout)))
            .collect();
        let mut got = Vec::with_capacity(conns);
        let mut failed = 0;
        let mut first_err = None;
        for h in handles {
            match h.await {
                Ok(s) => got.push(Some(s)),
                Err(e) => {
                    failed += 1;
                    first_err.get_or_insert(e);
                    got.push(None);
                }
            }
        }
        if let Some(e) = first_err {
            log::warn!(
                "shard {}: {failed} of {conns} connections to {} failed before the start ({e}); \
                 they retry on their first request",
                info.index,
                t.url
            );
        }
        streams.push(got);
    }

    // Every shard starts the same schedule: the last one in sets t0.
    if plan.arrived.fetch_add(1, Ordering::AcqRel) + 1 == info.count {
        plan.t0.store(now_ns() + 10_000_000, Ordering::Release);
    }
    let give_up = now_ns() + START_DEADLINE.as_nanos() as u64;
    let t0 = loop {
        let t0 = plan.t0.load(Ordering::Acquire);
        if t0 != 0 {
            break t0;
        }
        if info.shutdown.is_triggered() {
            return Err("interrupted before the start".to_string());
        }
        if now_ns() > give_up {
            return Err("other shards did not start in time".to_string());
        }
        monoio::time::sleep(Duration::from_millis(1)).await;
    };

    let warm_end = t0 + cfg.warmup.as_nanos() as u64;
    let end = warm_end + cfg.duration.as_nanos() as u64;
    let backlog = cfg
        .max_backlog
        .unwrap_or_else(|| ((cfg.qps / info.count as f64).ceil() as usize).max(64));
    let mut slots = Vec::new();
    let targets = (0..ntargets)
        .map(|t| TargetState {
            addr: cfg.targets[t].addr,
            request: plan.requests[t],
            dispatch: RefCell::new(Dispatch::new(conns, backlog)),
            stats: RefCell::new(Stats::default()),
        })
        .collect();
    let conn_slots: Vec<Vec<Rc<Slot>>> = (0..ntargets)
        .map(|_| (0..conns).map(|_| Slot::new()).collect())
        .collect();
    for s in conn_slots.iter().flatten() {
        slots.push(s.clone());
    }
    let sh = Rc::new(Shard {
        t0,
        warm_end,
        end,
        slice_ns: cfg.slice.as_nanos() as u64,
        timeout_ns: timeout.as_nanos() as u64,
        spin: cfg.spin,
        stream: cfg.stream,
        targets,
        slots,
        shutdown: info.shutdown.clone(),
        yielder: pacer::Yielder::spawn(),
        live: Cell::new(0),
        done: Cell::new(false),
    });

    monoio::spawn(watchdog(sh.clone()));
    for (tgt, (ss, sl)) in streams.into_iter().zip(conn_slots).enumerate() {
        for (idx, (stream, slot)) in ss.into_iter().zip(sl).enumerate() {
            let live = Live::new(&sh);
            let conn = Conn::new(stream, slot);
            if cfg.closed_loop {
                monoio::spawn(closed_conn(live, tgt, conn));
            } else {
                monoio::spawn(open_conn(live, tgt, idx, conn));
            }
        }
    }

    let paced = if cfg.closed_loop {
        while now_ns() < end && !sh.shutdown.is_triggered() {
            let left = end.saturating_sub(now_ns());
            monoio::time::sleep(Duration::from_nanos(left).min(Duration::from_millis(50))).await;
        }
        Ok(())
    } else {
        let sched = Schedule::new(t0, info.index, info.count, cfg.qps);
        pace(&sh, sched, backlog).await
    };
    let measured_ns = if sh.shutdown.is_triggered() {
        now_ns().clamp(warm_end, end) - warm_end
    } else {
        end - warm_end
    };
    for t in &sh.targets {
        t.dispatch.borrow_mut().close();
    }
    drain(&sh).await;
    sh.yielder.stop();
    paced.map_err(|e| format!("pacer timer failed: {e}"))?;
    let stats = sh
        .targets
        .iter()
        .map(|t| std::mem::take(&mut *t.stats.borrow_mut()))
        .collect();
    Ok((stats, measured_ns))
}

/// Open loop: hands out intended times until the window ends.
async fn pace(sh: &Rc<Shard>, sched: Schedule, backlog: usize) -> std::io::Result<()> {
    let mut timer = PreciseTimer::new()?;
    let mut wake = pacer::WakeLag::default();
    let ntargets = sh.targets.len();
    let mut i = 0u64;
    let mut burst = 0u32;
    loop {
        let t = sched.at(i);
        if t >= sh.end || sh.shutdown.is_triggered() {
            return Ok(());
        }
        let now = now_ns();
        if now < t {
            burst = 0;
            let early = match sh.spin {
                Spin::Auto => wake.early(),
                Spin::Fixed(ns) => ns,
            };
            if t - now > early {
                let armed = t - early;
                timer.sleep_until(armed).await?;
                wake.observe(now_ns().saturating_sub(armed));
            }
            // Spin the runtime (I/O keeps being polled) until the exact time.
            while now_ns() < t {
                sh.yielder.yield_now().await;
            }
        } else if burst >= PACER_BURST {
            burst = 0;
            sh.yielder.yield_now().await;
        }
        burst += 1;
        let ts = &sh.targets[pacer::slice_target(t, sh.t0, sh.slice_ns, ntargets)];
        dispatch_one(ts, t, t >= sh.warm_end, backlog);
        i += 1;
        if sched.at(i) > now_ns() {
            // Let the woken connection send before the timer is re-armed.
            sh.yielder.yield_now().await;
        }
    }
}

/// Queues intended time `t`, or drops it when the backlog is full.
fn dispatch_one(ts: &TargetState, t: u64, measured: bool, backlog: usize) {
    let mut d = ts.dispatch.borrow_mut();
    let full = d.queue.len() >= backlog;
    if !full {
        d.push(t);
    }
    if measured {
        let mut st = ts.stats.borrow_mut();
        st.requests += 1;
        st.dropped += u64::from(full);
    }
}

/// After the window: let in-flight and queued requests finish for up to
/// `--timeout`, then count what is left as dropped (queued) or timed out (in
/// flight).
async fn drain(sh: &Rc<Shard>) {
    // After Ctrl-C, give in-flight requests a short grace only.
    let grace = if sh.shutdown.is_triggered() {
        sh.timeout_ns.min(200_000_000)
    } else {
        sh.timeout_ns
    };
    let deadline = now_ns() + grace;
    let mut aborted = false;
    while sh.live.get() > 0 {
        if !aborted && now_ns() >= deadline {
            aborted = true;
            for t in &sh.targets {
                let mut d = t.dispatch.borrow_mut();
                let left = d.queue.iter().filter(|&&x| x >= sh.warm_end).count() as u64;
                t.stats.borrow_mut().dropped += left;
                d.queue.clear();
            }
            for s in &sh.slots {
                if s.busy_since.get() != 0 {
                    s.kill();
                }
            }
        }
        monoio::time::sleep(Duration::from_millis(2)).await;
    }
    sh.done.set(true);
}

async fn watchdog(sh: Rc<Shard>) {
    let tick = Duration::from_nanos(sh.timeout_ns / 10)
        .clamp(Duration::from_millis(1), Duration::from_millis(100));
    while !sh.done.get() {
        monoio::time::sleep(tick).await;
        let now = now_ns();
        for s in &sh.slots {
            let since = s.busy_since.get();
            if since != 0 && now.saturating_sub(since) > sh.timeout_ns && !s.timed_out.get() {
                s.kill();
            }
        }
    }
}

async fn open_conn(live: Live, tgt: usize, idx: usize, mut conn: Conn) {
    let sh = live.0.clone();
    let ts = &sh.targets[tgt];
    while let Some(intended) = (NextJob {
        dispatch: &ts.dispatch,
        idx,
    })
    .await
    {
        let sent = now_ns();
        let measured = intended >= sh.warm_end;
        ts.stats.borrow_mut().sent_total += 1;
        if measured {
            let mut st = ts.stats.borrow_mut();
            let lag = sent.saturating_sub(intended);
            st.send_lag.saturating_record(lag.max(1));
            if lag > LATE_NS {
                st.late += 1;
            }
            if sent < sh.end {
                st.done_in_window += 1;
            }
        }
        let outcome = conn.exchange(&sh, tgt, intended, measured).await;
        if measured {
            let done = now_ns();
            ts.stats
                .borrow_mut()
                .record(outcome, done.saturating_sub(intended));
        }
    }
    drop(live);
}

async fn closed_conn(live: Live, tgt: usize, mut conn: Conn) {
    let sh = live.0.clone();
    let ts = &sh.targets[tgt];
    let ntargets = sh.targets.len();
    loop {
        let now = now_ns();
        if now >= sh.end || sh.shutdown.is_triggered() {
            break;
        }
        if pacer::slice_target(now, sh.t0, sh.slice_ns, ntargets) != tgt {
            let next = pacer::next_slice_start(now, sh.t0, sh.slice_ns);
            monoio::time::sleep(Duration::from_nanos(next - now)).await;
            continue;
        }
        let measured = now >= sh.warm_end;
        let outcome = conn.exchange(&sh, tgt, now, measured).await;
        let done = now_ns();
        {
            let mut st = ts.stats.borrow_mut();
            st.sent_total += 1;
            if measured {
                st.requests += 1;
                st.record(outcome, done - now);
                if done < sh.end {
                    st.done_in_window += 1;
                }
            }
        }
        if outcome == Outcome::Connect {
            // Do not spin on a refused port.
            monoio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    drop(live);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_total() {
        for total in 1..50 {
            for count in 1..=total.min(7) {
                let parts: Vec<usize> = (0..count).map(|i| split(total, count, i)).collect();
                assert_eq!(parts.iter().sum::<usize>(), total);
                assert!(parts.iter().all(|&p| p >= 1));
                assert!(parts.iter().max().unwrap() - parts.iter().min().unwrap() <= 1);
            }
        }
    }

    fn noop_waker() -> Waker {
        use std::task::{RawWaker, RawWakerVTable};
        fn clone(_: *const ()) -> RawWaker {
            RawWaker::new(std::ptr::null(), &VTABLE)
        }
        fn noop(_: *const ()) {}
        static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
        // SAFETY: the vtable functions ignore the data pointer.
        unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
    }

    #[test]
    fn dispatch_hands_out_in_order_and_closes() {
        let d = RefCell::new(Dispatch::new(2, 8));
        let w = noop_waker();
        let mut cx = Context::from_waker(&w);
        let mut a = NextJob {
            dispatch: &d,
            idx: 0,
        };
        assert_eq!(Pin::new(&mut a).poll(&mut cx), Poll::Pending);
        assert_eq!(Pin::new(&mut a).poll(&mut cx), Poll::Pending);
        assert_eq!(d.borrow().idle, vec![0], "parked once");
        d.borrow_mut().push(10);
        d.borrow_mut().push(20);
        assert!(d.borrow().idle.is_empty());
        assert_eq!(Pin::new(&mut a).poll(&mut cx), Poll::Ready(Some(10)));
        let mut b = NextJob {
            dispatch: &d,
            idx: 1,
        };
        assert_eq!(Pin::new(&mut b).poll(&mut cx), Poll::Ready(Some(20)));
        assert_eq!(Pin::new(&mut b).poll(&mut cx), Poll::Pending);
        d.borrow_mut().close();
        assert_eq!(Pin::new(&mut b).poll(&mut cx), Poll::Ready(None));
    }
}
