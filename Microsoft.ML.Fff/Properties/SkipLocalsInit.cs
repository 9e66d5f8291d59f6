// The scorers take per-row scratch from stackalloc (up to 8 KB for a dense row) and always write it before reading it.
// Without this the runtime zeroes that memory on every row, which costs more than the whole network of a small model
//.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
