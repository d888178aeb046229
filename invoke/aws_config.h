// aws_config.h: the AWS shared config and credentials files, read as botocore reads them.
//
// Files: the credentials file (AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials), whose
// sections are profile names, and the config file (AWS_CONFIG_FILE, else $HOME/.aws/config),
// whose profiles are [default] and [profile NAME], with [services NAME] sections for endpoint
// overrides (other sections are kept but not used). The profile's values are looked up in the
// credentials file first, then in the config file (botocore merges the credentials file over
// the config file). A file that does not exist, or is not a regular file (/dev/null), is no error
// (it is simply empty), as in botocore; one above 1 MiB is refused.
//
// INI rules (Python's configparser as botocore uses it): "[section]" lines; "key = value" or
// "key: value" lines, key lower-cased and both trimmed; lines starting with '#' or ';' (after
// blanks) are comments; no inline comments; an indented line continues the key before it: when
// that key's own value is empty, its indented "sub = value" lines are nested values (stored as
// "key.sub", as [services] sections and s3 settings use), otherwise they are joined to the value
// with '\n'. A duplicate section or a duplicate key in a section is refused, as configparser does.
// Errors say "<file>:<line>: <what>" and never show a value.
//
// Secrets: the file's bytes and every value are wiped before they are freed.
#ifndef INVOKE_AWS_CONFIG_H
#define INVOKE_AWS_CONFIG_H

#include "invoke/err.h"

#include <stdbool.h>

#define INV_AWS_FILE_MAX (1024 * 1024)

// inv_getenv_fn looks up an environment variable (getenv's shape), so tests can inject one.
typedef const char *inv_getenv_fn(const char *name);

struct inv_aws_files;

// inv_aws_files_load reads both files as the environment |getenv_fn| (NULL: getenv) names them.
// Returns the merged view, or NULL with |err| (unreadable or malformed file).
struct inv_aws_files *inv_aws_files_load(inv_getenv_fn *getenv_fn, struct inv_err *err);
void inv_aws_files_free(struct inv_aws_files *f);

// inv_aws_profile_get returns |key| (lower case) of profile |profile|: credentials file first,
// then config file; NULL when absent. The string lives as long as |f|.
const char *inv_aws_profile_get(const struct inv_aws_files *f, const char *profile,
                                const char *key);
// inv_aws_profile_get_in looks in one file only: |credentials_file| true for the credentials
// file, false for the config file (botocore's shared-file and config-file steps each read one).
const char *inv_aws_profile_get_in(const struct inv_aws_files *f, bool credentials_file,
                                   const char *profile, const char *key);
// inv_aws_profile_exists says whether either file has the profile.
bool inv_aws_profile_exists(const struct inv_aws_files *f, const char *profile);
// inv_aws_services_get returns |key| of the config file's [services |name|] section.
const char *inv_aws_services_get(const struct inv_aws_files *f, const char *name, const char *key);
// inv_aws_config_path / inv_aws_credentials_path: the file names, for messages.
const char *inv_aws_config_path(const struct inv_aws_files *f);
const char *inv_aws_credentials_path(const struct inv_aws_files *f);

// inv_aws_env returns the variable if it is set and not empty, else NULL.
const char *inv_aws_env(inv_getenv_fn *getenv_fn, const char *name);

// inv_aws_profile_name: AWS_PROFILE, else AWS_DEFAULT_PROFILE, else "default".
const char *inv_aws_profile_name(inv_getenv_fn *getenv_fn);

#endif
