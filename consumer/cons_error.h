// cons_error.h: how a consumer error is classified for the layer above (the ESM maps these to
// its StateTransitionReason / LastProcessingResult values).
#ifndef CONSUMER_CONS_ERROR_H
#define CONSUMER_CONS_ERROR_H

enum cons_error_class {
    CONS_ERR_TRANSIENT = 0, // the consumer retries by itself; informational
    CONS_ERR_AUTHN,         // authentication failed (SASL, TLS trust): EVENT_SOURCE_AUTHN_ERROR
    CONS_ERR_AUTHZ,         // not authorized for the topic or group: EVENT_SOURCE_AUTHZ_ERROR
    CONS_ERR_CONFIG,        // the configuration cannot work (unknown topic, bad timeouts)
    CONS_ERR_FATAL,         // anything else that stops the consumer
};

// cons_error_class_name returns "transient", "authn", "authz", "config" or "fatal".
const char *cons_error_class_name(enum cons_error_class c);

#endif
