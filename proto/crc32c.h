// crc32c.h: the two checksums of the Kafka record formats.
//
// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) covers a magic-2 record batch from its
// attributes to its end; plain CRC-32 (IEEE, zlib's crc32) covers a magic-0/1 message from its
// magic byte to its end.
//
// kp_crc32c picks, on every call, the SSE4.2 `crc32` instruction when the CPU has it and a
// slicing-by-8 table otherwise. The choice asks `__builtin_cpu_supports("sse4.2")`, which reads the
// CPU model that the compiler runtime (libgcc / compiler-rt) fills in once at start-up; that
// runtime-owned variable is the only global state involved, and this module keeps none of its
// own. The two paths are exposed separately so tests and the benchmark can compare them.
//
// All functions take and return the finished CRC value (pre- and post-inversion are done inside),
// so a buffer can be checksummed in pieces: crc = kp_crc32c(kp_crc32c(0, a, n), b, m).
#ifndef PROTO_CRC32C_H
#define PROTO_CRC32C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// kp_crc32c extends |crc| (0 to start) over |len| bytes at |p| with CRC-32C.
uint32_t kp_crc32c(uint32_t crc, const void *p, size_t len);
// kp_crc32c_sw is the table (slicing-by-8) implementation; it runs on every CPU.
uint32_t kp_crc32c_sw(uint32_t crc, const void *p, size_t len);
// kp_crc32c_hw_available reports whether kp_crc32c_hw may be called on this CPU.
bool kp_crc32c_hw_available(void);
// kp_crc32c_hw uses the SSE4.2 instruction. Call it only when kp_crc32c_hw_available() is true;
// on other CPUs or architectures it falls back to the table.
uint32_t kp_crc32c_hw(uint32_t crc, const void *p, size_t len);

// kp_crc32 extends |crc| (0 to start) over |len| bytes with the IEEE CRC-32 (zlib's crc32).
uint32_t kp_crc32(uint32_t crc, const void *p, size_t len);

#endif
