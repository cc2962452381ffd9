//! (speech corpus generator being written)
