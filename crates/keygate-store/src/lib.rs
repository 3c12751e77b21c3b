#![forbid(unsafe_code)]
// Placeholder API until the store branch lands (matches its agreed shape).
