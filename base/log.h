// log.h: kesm's one logging facility, shared by every layer that may log (net/, broker/,
// consumer/, invoke/, esm/, cmd/; never proto/ or sasl/, which report errors to their caller
// instead).
//
// Each line goes to stderr (or to a sink set with kesm_log_set_sink) in one write, shaped
//   2026-11-26T21:08:47.123Z INFO net broker 127.0.0.1:9092: state CONNECTING -> API_VERSIONS
// that is: UTC timestamp with milliseconds, level, component, message. Messages never contain
// secrets: callers log names and reasons, never passwords, tokens, keys or proofs.
#ifndef BASE_LOG_H
#define BASE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum kesm_log_level {
    KESM_LOG_DEBUG = 0,
    KESM_LOG_INFO = 1,
    KESM_LOG_WARN = 2,
    KESM_LOG_ERROR = 3,
    KESM_LOG_OFF = 4,
};

// kesm_log formats one line at |level| for |component| (a short static word: "net", "tls",
// "consumer"). Lines below the current level are dropped. A newline inside the message is
// replaced by a space, so one call is always one line.
void kesm_log(enum kesm_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void kesm_vlog(enum kesm_log_level level, const char *component, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

// kesm_log_set_level sets the lowest level written (default KESM_LOG_INFO, or the value of the
// environment variable KESM_LOG_LEVEL: debug, info, warn, error, off, read on first use).
void kesm_log_set_level(enum kesm_log_level level);
enum kesm_log_level kesm_log_get_level(void);
// kesm_log_level_parse maps "debug"/"info"/"warn"/"error"/"off" to a level; returns -1 otherwise.
int kesm_log_level_parse(const char *s);

// kesm_log_sink receives each formatted line (without the trailing newline). Tests install one
// to assert on log text; NULL restores stderr. Not thread-safe: set it before starting threads.
typedef void (*kesm_log_sink)(enum kesm_log_level level, const char *line, void *ctx);
void kesm_log_set_sink(kesm_log_sink sink, void *ctx);

// KESM_LOG_TAG_MAX: the longest tag a layer accepts for its component (see kesm_log_component);
// longer tags are cut. A mapping's tag is "mapping=" and its 36-character UUID.
#define KESM_LOG_TAG_MAX 64
// KESM_LOG_COMPONENT_CAP: a buffer that holds any base word, a space and a full tag.
#define KESM_LOG_COMPONENT_CAP 96
// kesm_log_component writes "<base>" or, when |tag| is neither NULL nor empty, "<base> <tag>"
// into |buf| (|cap| bytes, cut if needed) and returns |buf|. Layers that serve one mapping
// (consumer/, net/ connections, invoke/ transports) use it so their lines carry the mapping:
//   2026-11-26T21:08:47.123Z INFO net mapping=6f1c... broker 127.0.0.1:9092: ...
char *kesm_log_component(char *buf, size_t cap, const char *base, const char *tag);

// kesm_log_set_tag_level gives the lines of one tag (a component ending in " <tag>", e.g.
// "mapping=<UUID>": LoggingConfig.SystemLogLevel of that mapping) their own lowest level,
// instead of the global one; |level| -1 removes it. Returns -1 when 256 tags are already set.
int kesm_log_set_tag_level(const char *tag, int level);

// kesm_log_level_name returns "DEBUG", "INFO", "WARN", "ERROR" or "OFF".
const char *kesm_log_level_name(enum kesm_log_level level);

#endif
