"""Tables: the macros of headers outside the EMQX repository, typerefl's imports, and the run-time values
set by hand."""

from __future__ import annotations

# Macros from headers outside the EMQX repository (hocon/include/hoconsc.hrl,
# hocon/include/hocon_types.hrl, typerefl/include/types.hrl), as Erlang source text.
# Keys are (name, arity); arity None is the macro used without parentheses.
EXTERNAL_MACROS: dict[tuple[str, int | None], tuple[list[str], str]] = {
    ("IMPORTANCE_HIGH", None): ([], "high"),
    ("IMPORTANCE_MEDIUM", None): ([], "medium"),
    ("IMPORTANCE_LOW", None): ([], "low"),
    ("IMPORTANCE_NO_DOC", None): ([], "no_doc"),
    ("IMPORTANCE_HIDDEN", None): ([], "hidden"),
    ("DEFAULT_IMPORTANCE", None): ([], "high"),
    ("ARRAY", 1): (["T"], "{array, T}"),
    ("UNION", 1): (["T"], "{union, T, undefined}"),
    ("UNION", 2): (["T", "N"], "{union, T, N}"),
    ("ENUM", 1): (["S"], "{enum, S}"),
    ("REF", 1): (["N"], "{ref, N}"),
    ("R_REF", 2): (["M", "N"], "{ref, M, N}"),
    ("R_REF", 1): (["N"], "{ref, ?MODULE, N}"),
    ("LAZY", 1): (["T"], "{lazy, T}"),
    ("MAP", 2): (["N", "T"], "{map, N, T}"),
    ("DESC", 2): (["NS", "ID"], "{desc, NS, ID}"),
    ("DESC", 1): (["ID"], "{desc, ?MODULE, ID}"),
    ("HOCON", 1): (["T"], "hoconsc:mk(T)"),
    ("HOCON", 2): (["T", "M"], "hoconsc:mk(T, M)"),
    ("IS_TYPEREFL", 1): (["X"], "(is_tuple(X) andalso element(1, X) =:= '$type_refl')"),
    # OTP predefined macros that matter for -if conditions
    ("OTP_RELEASE", None): ([], "27"),
}

# Names typerefl's types.hrl imports from module typerefl (they are called unqualified).
TYPEREFL_IMPORTS = {
    "any",
    "atom",
    "binary",
    "boolean",
    "float",
    "function",
    "integer",
    "list",
    "map",
    "nonempty_list",
    "number",
    "pid",
    "port",
    "reference",
    "term",
    "tuple",
    "byte",
    "char",
    "arity",
    "module",
    "non_neg_integer",
    "pos_integer",
    "string",
    "nil",
    "maybe_improper_list",
    "nonempty_maybe_improper_list",
    "nonempty_string",
    "iolist",
    "iodata",
    "union",
    "range",
    "printable_latin1_list",
    "printable_unicode_list",
    "mfa",
    "timeout",
    "identifier",
}

# Values computed at run time that we know anyway.  Keyed by "module:function/arity"; the value
# is Erlang source text evaluated in place of the call.  Keep this small and cited.
OVERRIDES: dict[str, str] = {
    # apps/emqx_utils/src/emqx_utils.erl interactive_load/1 loads a beam when running
    # interactively; for us every module is "loaded" (its source is in the repo).
    "emqx_utils:interactive_load/1": "ok",
    # apps/emqx/src/emqx_release.erl (5.x) edition/0 reads persistent_term 'EMQX_RELEASE_EDITION',
    # put at boot from ?EMQX_RELEASE_EDITION, which rebar.config.erl sets to ee for the Enterprise
    # build (6.x returns ee directly).
    "emqx_release:edition/0": "ee",
}

# Predefined preprocessor flags (rebar.config / build): the EE release, not a TEST build.
PREDEFINED_FLAGS = {"EMQX_RELEASE_EDITION": "ee"}
