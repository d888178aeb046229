// log.c: the leveled line logger (see log.h).
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int cur_level = -1; // -1: not yet read from the environment
static kesm_log_sink cur_sink;
static void *cur_sink_ctx;

int kesm_log_level_parse(const char *s)
{
    static const char *const names[] = {"debug", "info", "warn", "error", "off"};
    if (s == NULL) {
        return -1;
    }
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(s, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

enum kesm_log_level kesm_log_get_level(void)
{
    if (cur_level < 0) {
        int l = kesm_log_level_parse(getenv("KESM_LOG_LEVEL"));
        cur_level = l < 0 ? KESM_LOG_INFO : l;
    }
    return (enum kesm_log_level)cur_level;
}

void kesm_log_set_level(enum kesm_log_level level)
{
    cur_level = (int)level;
}

void kesm_log_set_sink(kesm_log_sink sink, void *ctx)
{
    cur_sink = sink;
    cur_sink_ctx = ctx;
}

const char *kesm_log_level_name(enum kesm_log_level level)
{
    switch (level) {
    case KESM_LOG_DEBUG:
        return "DEBUG";
    case KESM_LOG_INFO:
        return "INFO";
    case KESM_LOG_WARN:
        return "WARN";
    case KESM_LOG_ERROR:
        return "ERROR";
    case KESM_LOG_OFF:
        return "OFF";
    }
    return "?";
}

// Per-tag levels (kesm_log_set_tag_level): a small table; lines whose component ends with
// " <tag>" use the tag's level instead of the global one.
#define TAG_LEVELS_MAX 256
static struct {
    char tag[KESM_LOG_TAG_MAX + 1];
    int level;
} tag_levels[TAG_LEVELS_MAX];
static size_t num_tag_levels;
static int min_tag_level = KESM_LOG_OFF;

int kesm_log_set_tag_level(const char *tag, int level)
{
    size_t i = 0;
    while (i < num_tag_levels && strcmp(tag_levels[i].tag, tag) != 0) {
        i++;
    }
    if (level < 0) {
        if (i < num_tag_levels) {
            tag_levels[i] = tag_levels[--num_tag_levels];
        }
    } else if (i < num_tag_levels) {
        tag_levels[i].level = level;
    } else if (num_tag_levels < TAG_LEVELS_MAX && tag[0] != '\0') {
        snprintf(tag_levels[i].tag, sizeof tag_levels[i].tag, "%s", tag);
        tag_levels[i].level = level;
        num_tag_levels++;
    } else {
        return -1;
    }
    min_tag_level = KESM_LOG_OFF;
    for (size_t k = 0; k < num_tag_levels; k++) {
        min_tag_level = tag_levels[k].level < min_tag_level ? tag_levels[k].level : min_tag_level;
    }
    return 0;
}

// threshold: the level a line of |component| needs.
static int threshold(const char *component)
{
    int global = (int)kesm_log_get_level();
    if (num_tag_levels == 0 || component == NULL) {
        return global;
    }
    const char *sp = strrchr(component, ' ');
    if (sp == NULL) {
        return global;
    }
    for (size_t k = 0; k < num_tag_levels; k++) {
        if (strcmp(sp + 1, tag_levels[k].tag) == 0) {
            return tag_levels[k].level;
        }
    }
    return global;
}

void kesm_vlog(enum kesm_log_level level, const char *component, const char *fmt, va_list ap)
{
    if (level >= KESM_LOG_OFF ||
        ((int)level < (int)kesm_log_get_level() && (int)level < min_tag_level) ||
        (int)level < threshold(component)) {
        return;
    }
    char line[1024];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, kesm_log_level_name(level), component ? component : "-");
    if (n < 0) {
        return;
    }
    size_t off = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    int m = vsnprintf(line + off, sizeof line - off, fmt, ap);
    if (m < 0) {
        return;
    }
    size_t len = strlen(line);
    for (size_t i = off; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r') {
            line[i] = ' ';
        }
    }
    if (cur_sink != NULL) {
        cur_sink(level, line, cur_sink_ctx);
        return;
    }
    if (len + 1 < sizeof line) {
        line[len++] = '\n';
    } else {
        line[len - 1] = '\n';
    }
    // One write per line keeps lines whole when several processes share stderr.
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void kesm_log(enum kesm_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kesm_vlog(level, component, fmt, ap);
    va_end(ap);
}

char *kesm_log_component(char *buf, size_t cap, const char *base, const char *tag)
{
    if (cap == 0) {
        return buf;
    }
    if (tag != NULL && tag[0] != '\0') {
        snprintf(buf, cap, "%s %.*s", base, KESM_LOG_TAG_MAX, tag);
    } else {
        snprintf(buf, cap, "%s", base);
    }
    return buf;
}
