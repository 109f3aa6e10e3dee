//! When each request is meant to go out, and a timer precise enough to wait
//! for it.
//!
//! **Schedule.** Request `i` of shard `s` (of `S`) is due at
//! `t0 + (i*S + s) / qps`: the shards interleave, so together they send at
//! even spacing, and each time is computed from `t0` (never accumulated), so
//! the schedule does not drift. Latency is measured from this *intended* time,
//! not from when the request actually left: a request that had to wait for a
//! free connection, or for the generator, carries that wait in its latency.
//! This is the coordinated-omission correction.
//!
//! **Timer.** monoio's timer wheel has 1 ms ticks and rounds deadlines up, so
//! waiting on it would send each request up to ~1 ms late, and every recorded
//! latency would carry that error. [`PreciseTimer`] instead arms a `timerfd`
//! at the exact nanosecond deadline (`TFD_TIMER_ABSTIME`; timer slack does not
//! apply to timerfd) and waits for it through the shard's own driver (epoll
//! registration or io_uring `PollAdd`), so the shard keeps serving responses
//! while it waits and burns no CPU.
//!
//! Measured on the 2-core dev VM (AMD EPYC, KVM), 1 ms sleeps, 500 samples:
//!
//! | wait                               | lag p50 | p90    | p99    |
//! |------------------------------------|---------|--------|--------|
//! | `clock_nanosleep` (default slack)  | 92 µs   | 114 µs | 140 µs |
//! | `clock_nanosleep`, slack 1 ns      | 38 µs   | 47 µs  | 124 µs |
//! | timerfd + epoll                    | 44 µs   | 67 µs  | 135 µs |
//! | busy spin                          | 0.06 µs | 0.08 µs| 135 µs*|
//! | sleep to 150 µs before, then spin  | 0.06 µs | 0.08 µs| 0.09 µs|
//!
//! (*a deschedule.) The wake-up from idle costs ~40 µs in a VM, which would
//! land in every latency. So the pacer sleeps on the timerfd until shortly
//! before the send and then *polls*: it yields to the shard's other tasks
//! (the runtime runs `epoll_wait(0)` between rounds, so responses are still
//! read and timed) until the exact time. `--spin auto` (default) learns the
//! wake-up lag ([`WakeLag`]) and starts polling just before it is expected,
//! at most 150 µs early. Against nginx `return 200` on loopback (loadgen and
//! nginx each on their own core, SCHED_FIFO to keep other tenants' builds
//! out of the numbers, 32 connections, epoll):
//!
//! | rate       | `--spin` | send lag p50 / p99 | latency p50 / p99 | loadgen CPU  |
//! |------------|----------|--------------------|-------------------|--------------|
//! | 1,000 /s   | 0        | 33 / 116 µs        | 102 / 454 µs      | 7 % of a core|
//! | 1,000 /s   | auto     | 0.6 / 1.3 µs       | 70 / 135 µs       | 8 %          |
//! | 5,000 /s   | 0        | 23 / 63 µs         | 85 / 169 µs       | 25 %         |
//! | 5,000 /s   | auto     | 0.4 / 7 µs         | 60 / 149 µs       | 32 %         |
//!
//! So sleeping alone adds 25-35 µs of generator error to every latency for a
//! few % of a core saved; `auto` is the default. `--spin 0` only sleeps (the
//! polite choice when loadgen shares a core with the server under test);
//! `--spin 1s` never sleeps (a whole core, most precise). Most of loadgen's
//! CPU at these rates is the kernel's idle/wake-up path, not loadgen: closed
//! loop, where it never sleeps, costs ~7 µs per request, nearly all of it in
//! loopback TCP.
//!
//! Whatever is due when the pacer wakes goes out at once, each request still
//! timed from its own intended time, and the send lag (actual - intended) is
//! recorded and reported, so the generator's own precision is visible in
//! every run.

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::rc::Rc;
use std::task::{Poll, Waker};

/// CLOCK_MONOTONIC in nanoseconds, the clock of every timestamp in loadgen.
#[inline]
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Intended send times of one shard.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    t0: u64,
    shard: u64,
    shards: u64,
    ns_per_req: f64,
}

impl Schedule {
    /// `qps` is the rate of all shards together.
    pub fn new(t0: u64, shard: usize, shards: usize, qps: f64) -> Self {
        Schedule {
            t0,
            shard: shard as u64,
            shards: shards as u64,
            ns_per_req: 1e9 / qps,
        }
    }

    /// Intended time of this shard's `i`-th request.
    #[inline]
    pub fn at(&self, i: u64) -> u64 {
        self.t0 + ((i * self.shards + self.shard) as f64 * self.ns_per_req) as u64
    }
}

/// `--compare` slices: which target owns time `t`, alternating every
/// `slice_ns` from `t0` (target 0 first).
#[inline]
pub fn slice_target(t: u64, t0: u64, slice_ns: u64, targets: usize) -> usize {
    if targets <= 1 {
        return 0;
    }
    ((t.saturating_sub(t0) / slice_ns) % targets as u64) as usize
}

/// Start of the next slice after `t`.
pub fn next_slice_start(t: u64, t0: u64, slice_ns: u64) -> u64 {
    t0 + (t.saturating_sub(t0) / slice_ns + 1) * slice_ns
}

/// How much of `[from, to)` belongs to `target` under `slice_target`.
pub fn target_time(
    from: u64,
    to: u64,
    t0: u64,
    slice_ns: u64,
    target: usize,
    targets: usize,
) -> u64 {
    if targets <= 1 {
        return to.saturating_sub(from);
    }
    let mut total = 0;
    let mut t = from;
    while t < to {
        let end = next_slice_start(t, t0, slice_ns).min(to);
        if slice_target(t, t0, slice_ns, targets) == target {
            total += end - t;
        }
        t = end;
    }
    total
}

/// Running estimate of how late the timer wakes us (EWMA of the lag and of
/// its deviation), for `--spin auto`.
#[derive(Clone, Copy, Debug)]
pub struct WakeLag {
    mean: f64,
    dev: f64,
}

impl Default for WakeLag {
    fn default() -> Self {
        // A VM's wake-up from idle: ~40 µs, give or take.
        WakeLag {
            mean: 50_000.0,
            dev: 20_000.0,
        }
    }
}

impl WakeLag {
    /// Most the auto mode ever wakes early.
    pub const MAX_EARLY_NS: u64 = 150_000;
    /// Lags above this are the thread being descheduled, not the timer; they
    /// are clipped so one bad moment does not make every later send spin.
    const CLIP_NS: u64 = 300_000;

    /// How long before a send to stop sleeping: mean + 2 deviations + 5 µs.
    pub fn early(&self) -> u64 {
        ((self.mean + 2.0 * self.dev) as u64 + 5_000).min(Self::MAX_EARLY_NS)
    }

    pub fn observe(&mut self, lag_ns: u64) {
        let lag = lag_ns.min(Self::CLIP_NS) as f64;
        self.dev += ((lag - self.mean).abs() - self.dev) / 16.0;
        self.mean += (lag - self.mean) / 16.0;
    }
}

/// A nanosecond-precise sleep on the shard's own driver (see the module doc).
pub struct PreciseTimer {
    /// The timerfd, held as a stream only so the driver can poll it; it is
    /// never read or written through this type.
    fd: monoio::net::UnixStream,
    raw: RawFd,
}

impl PreciseTimer {
    /// Must be called inside a shard.
    pub fn new() -> io::Result<Self> {
        // SAFETY: plain syscall; the fd is checked and owned below.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh fd nobody else owns; the std type only
        // carries it into monoio, which closes it on drop.
        let std = unsafe { std::os::unix::net::UnixStream::from_raw_fd(raw) };
        let fd = monoio::net::UnixStream::from_std(std)?;
        Ok(PreciseTimer { fd, raw })
    }

    /// Returns once `now_ns() >= deadline`.
    pub async fn sleep_until(&mut self, deadline: u64) -> io::Result<()> {
        if now_ns() >= deadline {
            return Ok(());
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (deadline / 1_000_000_000) as libc::time_t,
                tv_nsec: (deadline % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: valid fd and itimerspec.
        let rc = unsafe {
            libc::timerfd_settime(
                self.raw,
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            self.fd.readable(false).await?;
            let mut expirations = 0u64;
            // SAFETY: reads 8 bytes into a u64 we own; the fd is non-blocking.
            let n = unsafe { libc::read(self.raw, &mut expirations as *mut u64 as *mut _, 8) };
            if n == 8 {
                return Ok(());
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::WouldBlock {
                return Err(err);
            }
        }
    }
}

/// A yield that lets every other ready task of the shard run first.
///
/// monoio puts a task that wakes itself while being polled back at the
/// *front* of the run queue, so the obvious `wake_by_ref(); Pending` yield
/// runs the same task again at once and starves the connections (found the
/// hard way: a spinning pacer sent nothing). Here the yielding task instead
/// hands its waker to a helper task and wakes that: a wake from outside a
/// task's own poll goes to the *back* of the queue, so the helper runs after
/// everything already ready, then wakes the yielder, which again goes to the
/// back. Two task polls per yield, no allocation. While tasks are queued the
/// runtime polls the driver (`epoll_wait(0)` / `io_uring_enter`) every round,
/// so a spinning task keeps I/O moving.
pub struct Yielder {
    parked: RefCell<Option<Waker>>,
    helper: RefCell<Option<Waker>>,
    stop: Cell<bool>,
}

impl Yielder {
    /// Spawns the helper task on the current shard.
    pub fn spawn() -> Rc<Yielder> {
        let y = Rc::new(Yielder {
            parked: RefCell::new(None),
            helper: RefCell::new(None),
            stop: Cell::new(false),
        });
        let h = y.clone();
        monoio::spawn(std::future::poll_fn(move |cx| {
            if let Some(w) = h.parked.borrow_mut().take() {
                w.wake();
            }
            if h.stop.get() {
                return Poll::Ready(());
            }
            set_waker(&h.helper, cx.waker());
            Poll::Pending
        }));
        y
    }

    /// Resolves after every task that was ready has had a turn.
    pub async fn yield_now(&self) {
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            set_waker(&self.parked, cx.waker());
            if let Some(w) = self.helper.borrow().as_ref() {
                w.wake_by_ref();
            }
            Poll::Pending
        })
        .await
    }

    /// Lets the helper task finish.
    pub fn stop(&self) {
        self.stop.set(true);
        if let Some(w) = self.helper.borrow().as_ref() {
            w.wake_by_ref();
        }
    }
}

fn set_waker(slot: &RefCell<Option<Waker>>, w: &Waker) {
    let mut slot = slot.borrow_mut();
    match slot.as_ref() {
        Some(old) if old.will_wake(w) => {}
        _ => *slot = Some(w.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_interleaves_shards_evenly() {
        let qps = 1000.0;
        let shards = 3;
        let mut all: Vec<u64> = (0..shards)
            .flat_map(|s| {
                let sc = Schedule::new(5_000, s, shards, qps);
                (0..100).map(move |i| sc.at(i))
            })
            .collect();
        all.sort_unstable();
        for (k, t) in all.iter().enumerate() {
            assert_eq!(*t, 5_000 + k as u64 * 1_000_000, "request {k}");
        }
    }

    #[test]
    fn schedule_does_not_drift() {
        // 3 qps is not a whole number of ns apart; the error must not grow.
        let sc = Schedule::new(0, 0, 1, 3.0);
        let t = sc.at(3 * 3600 * 24);
        let want = 24 * 3600 * 1_000_000_000u64;
        assert!(t.abs_diff(want) <= 1, "{t} vs {want}");
        let sc = Schedule::new(0, 0, 1, 7_777.0);
        for i in [1u64, 10, 1_000, 1_000_000] {
            let exact = i as f64 * 1e9 / 7_777.0;
            assert!((sc.at(i) as f64 - exact).abs() <= 1.0);
        }
    }

    #[test]
    fn slices_alternate() {
        let t0 = 1_000;
        let s = 250;
        assert_eq!(slice_target(1_000, t0, s, 2), 0);
        assert_eq!(slice_target(1_249, t0, s, 2), 0);
        assert_eq!(slice_target(1_250, t0, s, 2), 1);
        assert_eq!(slice_target(1_500, t0, s, 2), 0);
        assert_eq!(slice_target(1_750, t0, s, 1), 0);
        assert_eq!(next_slice_start(1_100, t0, s), 1_250);
        assert_eq!(next_slice_start(1_250, t0, s), 1_500);
        // 1000 ns from t0 + 100: target 0 owns [100,250) [500,750) [1000,1100).
        assert_eq!(target_time(1_100, 2_100, t0, s, 0, 2), 150 + 250 + 100);
        assert_eq!(target_time(1_100, 2_100, t0, s, 1, 2), 250 + 250);
        assert_eq!(target_time(1_100, 2_100, t0, s, 0, 1), 1_000);
    }

    #[test]
    fn wake_lag_estimate_tracks_and_is_capped() {
        let mut w = WakeLag::default();
        for _ in 0..200 {
            w.observe(10_000);
        }
        let e = w.early();
        assert!(
            (15_000..16_000).contains(&e),
            "steady 10 µs lag: wake {e} ns early"
        );
        w.observe(50_000_000); // one deschedule is clipped...
        assert!(w.early() < WakeLag::MAX_EARLY_NS, "{}", w.early());
        for _ in 0..100 {
            w.observe(10_000);
        }
        assert!(w.early() < 20_000, "...and forgotten: {}", w.early());
        for _ in 0..200 {
            w.observe(5_000_000);
        }
        assert_eq!(w.early(), WakeLag::MAX_EARLY_NS);
    }

    #[test]
    fn yield_lets_other_tasks_run() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .unwrap();
        rt.block_on(async {
            let y = Yielder::spawn();
            let ran = Rc::new(Cell::new(0u32));
            for _ in 0..3 {
                let ran = ran.clone();
                monoio::spawn(async move { ran.set(ran.get() + 1) });
            }
            y.yield_now().await;
            assert_eq!(
                ran.get(),
                3,
                "every ready task ran before the yielder resumed"
            );
            // A spinning task does not starve the others.
            let flag = Rc::new(Cell::new(false));
            let f = flag.clone();
            monoio::spawn(async move { f.set(true) });
            let mut spins = 0;
            while !flag.get() {
                y.yield_now().await;
                spins += 1;
                assert!(spins < 3);
            }
            y.stop();
        });
    }

    #[test]
    fn precise_timer_is_not_early_and_is_sub_ms() {
        let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
            .enable_timer()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut timer = PreciseTimer::new().unwrap();
            let mut lags = Vec::new();
            for k in 0..50u64 {
                let deadline = now_ns() + 200_000 + k * 7_000;
                timer.sleep_until(deadline).await.unwrap();
                let now = now_ns();
                assert!(now >= deadline);
                lags.push(now - deadline);
            }
            lags.sort_unstable();
            // The median wake-up is far below monoio's 1 ms tick even on a
            // busy CI box.
            assert!(lags[25] < 500_000, "median lag {} ns", lags[25]);
        });
    }
}
