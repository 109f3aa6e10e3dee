//! One client connection: connect, send the pre-built request, read and
//! frame the response, time SSE events, and decide what a failure was
//! (connect, timeout, I/O, or a keep-alive connection the server had closed,
//! which is retried once).
//!
//! A [`Conn`] is owned by one connection task of one shard. Its read buffer
//! is allocated once and moved through every read (monoio's rent model); the
//! decoders in `http` keep their own state, so the buffer is reset after each
//! read and only an unfinished response head ever stays in it. A [`Slot`] is
//! the part of the connection the shard's watchdog may touch: the send time
//! of the request in flight and the fd to shut down when it is overdue.

use std::cell::Cell;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use crate::http::{parse_head, Chunked, Framing, Head, SseScanner};
use crate::pacer::now_ns;
use crate::run::Shard;
use crate::stats::Outcome;

/// Read buffer per connection; a response head must fit in it.
const READ_BUF: usize = 64 * 1024;

/// Per-connection state the watchdog can see.
pub struct Slot {
    /// Send time of the request in flight; 0 when idle.
    pub busy_since: Cell<u64>,
    pub fd: Cell<i32>,
    pub timed_out: Cell<bool>,
}

impl Slot {
    pub fn new() -> Rc<Slot> {
        Rc::new(Slot {
            busy_since: Cell::new(0),
            fd: Cell::new(-1),
            timed_out: Cell::new(false),
        })
    }

    pub fn kill(&self) {
        let fd = self.fd.get();
        if fd >= 0 {
            self.timed_out.set(true);
            // SAFETY: shutting down a socket this shard owns; the pending
            // read then completes with EOF.
            unsafe { libc::shutdown(fd, libc::SHUT_RDWR) };
        }
    }
}

/// Why a round trip failed.
enum RtError {
    /// Nothing came back on a connection that may have been closed while
    /// idle: worth one retry on a fresh connection.
    NothingBack,
    Io,
}

pub async fn connect(addr: SocketAddr, timeout: Duration) -> std::io::Result<TcpStream> {
    let s = match monoio::time::timeout(timeout, TcpStream::connect_addr(addr)).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ))
        }
    };
    s.set_nodelay(true)?;
    Ok(s)
}

/// A connection and its buffers, owned by one task.
pub struct Conn {
    stream: Option<TcpStream>,
    /// The stream has completed at least one response.
    reused: bool,
    rbuf: Vec<u8>,
    slot: Rc<Slot>,
}

impl Conn {
    pub fn new(stream: Option<TcpStream>, slot: Rc<Slot>) -> Conn {
        if let Some(s) = &stream {
            slot.fd.set(s.as_raw_fd());
        }
        Conn {
            stream,
            reused: false,
            rbuf: Vec::with_capacity(READ_BUF),
            slot,
        }
    }

    fn drop_stream(&mut self) {
        self.slot.fd.set(-1);
        self.stream = None;
        self.reused = false;
    }

    /// Sends one request and reads its response. `start` is what latencies
    /// are measured from (intended time in open loop, send time in closed).
    pub async fn exchange(
        &mut self,
        sh: &Shard,
        tgt: usize,
        start: u64,
        measured: bool,
    ) -> Outcome {
        let target = &sh.targets[tgt];
        let mut retried = false;
        loop {
            if self.stream.is_none() {
                match connect(target.addr, Duration::from_nanos(sh.timeout_ns)).await {
                    Ok(s) => {
                        self.slot.fd.set(s.as_raw_fd());
                        self.stream = Some(s);
                    }
                    Err(_) => return Outcome::Connect,
                }
            }
            self.slot.busy_since.set(now_ns());
            let r = self.round_trip(sh, tgt, start, measured).await;
            self.slot.busy_since.set(0);
            let timed_out = self.slot.timed_out.replace(false);
            match r {
                Ok(head) => {
                    if head.close || timed_out {
                        self.drop_stream();
                    } else {
                        self.reused = true;
                    }
                    return Outcome::of_status(head.status);
                }
                Err(_) if timed_out => {
                    self.drop_stream();
                    return Outcome::Timeout;
                }
                Err(RtError::NothingBack) if self.reused && !retried => {
                    // The server closed the idle keep-alive connection.
                    self.drop_stream();
                    retried = true;
                }
                Err(_) => {
                    self.drop_stream();
                    return Outcome::Io;
                }
            }
        }
    }

    async fn round_trip(
        &mut self,
        sh: &Shard,
        tgt: usize,
        start: u64,
        measured: bool,
    ) -> Result<Head, RtError> {
        let target = &sh.targets[tgt];
        // ok: exchange() connects before calling us.
        let stream = self.stream.as_mut().expect("connected");
        let (r, _) = stream.write_all(target.request).await;
        if r.is_err() {
            return Err(RtError::NothingBack);
        }
        let mut buf = std::mem::take(&mut self.rbuf);
        buf.clear();
        let mut head: Option<Head> = None;
        let mut pos = 0usize;
        let mut got_bytes = false;
        let mut remaining = 0u64;
        let mut chunked = Chunked::default();
        let mut sse = SseScanner::default();
        let mut first_event = true;
        let mut last_event = 0u64;
        let result = loop {
            if buf.len() == buf.capacity() {
                // Only an unfinished head stays in the buffer.
                break Err(RtError::Io);
            }
            let (r, b) = stream.read(buf).await;
            buf = b;
            match r {
                Ok(0) => {
                    break match head {
                        Some(h) if h.framing == Framing::UntilClose => Ok(h),
                        _ if !got_bytes => Err(RtError::NothingBack),
                        _ => Err(RtError::Io),
                    };
                }
                Ok(_) => got_bytes = true,
                Err(_) if !got_bytes => break Err(RtError::NothingBack),
                Err(_) => break Err(RtError::Io),
            }
            let mut bad_head = false;
            while head.is_none() {
                match parse_head(&buf[pos..]) {
                    Ok(Some(h)) if (100..200).contains(&h.status) && h.status != 101 => {
                        pos += h.len; // interim response: skip it
                    }
                    Ok(Some(h)) => {
                        pos += h.len;
                        if let Framing::Length(l) = h.framing {
                            remaining = l;
                        }
                        head = Some(h);
                    }
                    Ok(None) => break,
                    Err(_) => {
                        bad_head = true;
                        break;
                    }
                }
            }
            if bad_head {
                break Err(RtError::Io);
            }
            let Some(h) = head else {
                // Keep the partial head at the front of the buffer.
                if pos > 0 {
                    buf.drain(..pos);
                    pos = 0;
                }
                continue;
            };
            let data = &buf[pos..];
            let mut events = 0u32;
            let done = match h.framing {
                Framing::Empty => true,
                Framing::Length(_) => {
                    let n = (remaining as usize).min(data.len());
                    if sh.stream {
                        events += sse.feed(&data[..n]);
                    }
                    remaining -= n as u64;
                    remaining == 0
                }
                Framing::Chunked => {
                    let fed = chunked.feed(data, |d| {
                        if sh.stream {
                            events += sse.feed(d);
                        }
                    });
                    if fed.is_err() {
                        break Err(RtError::Io);
                    }
                    chunked.is_done()
                }
                Framing::UntilClose => {
                    if sh.stream {
                        events += sse.feed(data);
                    }
                    false
                }
            };
            buf.clear();
            pos = 0;
            if events > 0 {
                let now = now_ns();
                if measured {
                    let mut st = target.stats.borrow_mut();
                    st.events += events as u64;
                    if first_event {
                        st.ttfb.saturating_record(now.saturating_sub(start).max(1));
                    } else {
                        st.inter_event
                            .saturating_record(now.saturating_sub(last_event).max(1));
                    }
                    if events > 1 {
                        // Events that arrived together are 0 apart.
                        st.inter_event.saturating_record_n(1, events as u64 - 1);
                    }
                }
                first_event = false;
                last_event = now;
            }
            if done {
                break Ok(h);
            }
        };
        self.rbuf = buf;
        result
    }
}
