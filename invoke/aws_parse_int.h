// aws_parse_int.h: what invoke/aws_parse.c and invoke/aws_parse_json.c share. Not an API.
#ifndef INVOKE_AWS_PARSE_INT_H
#define INVOKE_AWS_PARSE_INT_H

#include "invoke/aws_parse.h"

// aws_creds_doc_check validates the key id, secret and token of |d| (|what| and |token_name|
// name them in the message). Returns INV_AWS_PARSE_OK or INV_AWS_PARSE_MISSING with |err|.
enum inv_aws_parse_status aws_creds_doc_check(const struct inv_aws_creds_doc *d, const char *what,
                                              const char *token_name, struct inv_err *err);

#endif
