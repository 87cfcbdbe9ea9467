package sfu

// sysSendmmsg is sendmmsg(2)'s system call number, which package syscall
// does not define on every architecture.
const sysSendmmsg = 269
