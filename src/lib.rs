//! Ringway library.
