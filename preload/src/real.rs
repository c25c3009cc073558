//! The C library's own definitions of the calls the shim intercepts, found with
//! `dlsym(RTLD_NEXT, ...)`: what a call that is not for netstack is passed on to.

use core::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{msghdr, size_t, sockaddr, socklen_t, ssize_t};

/// Looks `name` (NUL-terminated) up once and caches it in `slot`.
fn lookup(slot: &AtomicUsize, name: &'static [u8]) -> usize {
    let cached = slot.load(Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: `name` is a NUL-terminated string literal; RTLD_NEXT asks for the next
    // definition after this library, which is the C library's.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr().cast()) } as usize;
    if found == 0 {
        // Without the real call nothing can work; saying so beats crashing later.
        let msg = b"netstack-preload: a socket call is missing from the C library\n";
        // SAFETY: writing a static buffer of the given length to stderr.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
        std::process::abort();
    }
    slot.store(found, Ordering::Relaxed);
    found
}

macro_rules! real {
    ($($name:ident : fn($($arg:ty),*) -> $ret:ty;)*) => {$(
        pub fn $name() -> unsafe extern "C" fn($($arg),*) -> $ret {
            static SLOT: AtomicUsize = AtomicUsize::new(0);
            let address = lookup(&SLOT, concat!(stringify!($name), "\0").as_bytes());
            // SAFETY: `address` is the C library's `$name`, whose C signature is exactly
            // this one (see its man page); function pointers and usize have one size.
            unsafe {
                std::mem::transmute::<usize, unsafe extern "C" fn($($arg),*) -> $ret>(address)
            }
        }
    )*};
}

real! {
    socket: fn(c_int, c_int, c_int) -> c_int;
    bind: fn(c_int, *const sockaddr, socklen_t) -> c_int;
    listen: fn(c_int, c_int) -> c_int;
    accept4: fn(c_int, *mut sockaddr, *mut socklen_t, c_int) -> c_int;
    connect: fn(c_int, *const sockaddr, socklen_t) -> c_int;
    getsockname: fn(c_int, *mut sockaddr, *mut socklen_t) -> c_int;
    getpeername: fn(c_int, *mut sockaddr, *mut socklen_t) -> c_int;
    setsockopt: fn(c_int, c_int, c_int, *const c_void, socklen_t) -> c_int;
    getsockopt: fn(c_int, c_int, c_int, *mut c_void, *mut socklen_t) -> c_int;
    shutdown: fn(c_int, c_int) -> c_int;
    close: fn(c_int) -> c_int;
    send: fn(c_int, *const c_void, size_t, c_int) -> ssize_t;
    recv: fn(c_int, *mut c_void, size_t, c_int) -> ssize_t;
    sendto: fn(c_int, *const c_void, size_t, c_int, *const sockaddr, socklen_t) -> ssize_t;
    recvfrom: fn(c_int, *mut c_void, size_t, c_int, *mut sockaddr, *mut socklen_t) -> ssize_t;
    sendmsg: fn(c_int, *const msghdr, c_int) -> ssize_t;
    recvmsg: fn(c_int, *mut msghdr, c_int) -> ssize_t;
}
