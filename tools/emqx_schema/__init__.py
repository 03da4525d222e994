"""Derive EMQX Enterprise's configuration schema from EMQX's Erlang source.

What it does
    Reads the EMQX source tree of one commit straight out of a git directory (no checkout, no
    Erlang toolchain), and symbolically evaluates the HOCON schema the broker itself would build:
    ``emqx_enterprise_schema:roots/0`` and every ``fields(Name)`` reachable from it.  The result is
    a JSON type tree (structs, maps, arrays, unions, enums, scalars) keyed by config root, written
    with sorted keys so that a regeneration shows up as a reviewable diff.

Where EMQX's schema lives
    Schema modules are ``apps/*/src/**/*_schema.erl`` implementing the ``hocon_schema`` behaviour
    (``roots/0`` and ``fields/1``).  Fields are ``{Name, hoconsc:mk(Type, Meta)}`` tuples, built by
    ordinary Erlang: helper functions with arguments, ``++``, ``lists:*``/``maps:*`` calls, ``case``
    on arguments, macros from ``-define`` and ``apps/*/include/*.hrl``.  The Enterprise entry point
    is ``emqx_enterprise_schema``, which redefines some roots of ``emqx_conf_schema`` and appends
    the roots of its ``?EE_SCHEMA_MODULES``.  ``emqx_conf_schema:roots/0`` first registers schema
    "injections" (``emqx_schema_hooks``, backed by ``persistent_term``): this script evaluates that
    too, so the authentication/authorization providers and ``node.role`` are filled in the way the
    broker does it.

How it works (one module each)
    A small Erlang tokenizer, preprocessor (``-define``, ``-include``/``-include_lib`` inside the
    repo, ``-ifdef``/``-ifndef``/``-if``), expression parser and an abstract interpreter.  Values the
    source cannot determine statically become ``Unknown``; a type that evaluates to ``Unknown``
    becomes ``{"kind": "any", "why": "..."}`` naming the module:function that blocked evaluation.
    Library code that is not in the EMQX repository (hocon's ``hoconsc``/``hocon_schema``,
    typerefl, OTP's ``lists``/``maps``/``proplists``/``string``...) is modelled by small Python
    builtins below; the few macros needed from hocon's and typerefl's headers are in
    ``EXTERNAL_MACROS``.

Output format
    ``{"emqx_version", "source": {repository, ref, commit}, "generator", "roots", "schema",
    "structs"}``; ``schema`` is a struct node whose fields are the roots.  Node kinds: ``struct``
    (``name`` is ``module:fields-name``, ``fields``), ``map`` (``key``, ``value``), ``array``
    (``item``), ``union`` (``members``), ``enum`` (``values``, as strings), ``scalar`` (``type``,
    and ``min``/``max`` for integer ranges), ``singleton`` (``value``), ``any`` (``why``) and
    ``ref`` (``name``).  Every struct is defined once, in the top-level ``structs`` table keyed by
    ``module:name``, and referred to as ``{"kind": "ref", "name": "module:name"}`` everywhere
    (inlining would repeat e.g. the authentication providers under every listener type and
    gateway: about 6 MB instead of 0.6 MB); cycles need no special case.
    A field node may carry ``hidden`` (``importance => hidden``), ``no_doc`` (``importance =>
    no_doc``: configurable, but left out of EMQX's documentation), ``deprecated``, ``aliases``,
    ``required`` (``true``, ``false`` or ``"{false, recursively}"``, as the field schema says it; absent when
    it says nothing, which hocon reads as false at EMQX's boot) and ``has_default`` (the field has a
    ``default``, which hocon fills in for an absent value).  Descriptions and default values are never copied.

What it cannot evaluate, and why
    Anything the source leaves to run time becomes ``any``: ``application:get_env`` keys an app
    does not set in its ``.app.src``/``mix.exs``, ETS, ``erlang:node()``, ``io_lib:format``
    directives beyond ~s/~p/~w, calls into code outside the repository (plugins, NIFs, deps other
    than the modelled ones) and ``receive``.  No configuration is loaded, so ``emqx_config:get``
    raises as it would in EMQX's docgen run (schema code that calls it catches that).  For the committed data file
    and the 5.8.1 comparison that is nothing: the ``any`` count is 0.  Modelled run-time context,
    chosen to match how EMQX builds its own schema dump (``emqx_conf:gen_schema_json/3``):
    - every app of the repo is loaded; ``application:get_env`` reads their ``env`` (this is how the
      connector/action/gateway registries find their modules); ``Module:module_info(attributes)``
      returns ``-behaviour`` and custom attributes such as ``-gateway(#{...})``;
    - ``os:getenv`` is unset, ``os:type()`` is ``{unix, linux}``, it is not a ``TEST`` build;
    - ``persistent_term`` starts empty and is written by the evaluated code itself;
    - union selector funs are called with ``all_union_members``, as hocon's docgen does.
    ``OVERRIDES`` is the (small, cited) table of run-time values we set by hand.

Regenerating on an appVersion bump
    ``python -m emqx_schema --repo <bare emqx git dir> --commit <sha of the tag or release branch>
    --ref <tag or branch> --version <appVersion> --out tools/emqx_schema/data/emqx-schema-<appVersion>.json`` (from
    ``tools/``),
    then ``python -m emqx_schema.compare`` against EMQX's published dump of the nearest version,
    and review the diff of the data file.

Scalar type names (``scalar.type``) map from typerefl / emqx_schema types as follows:
    ``boolean()`` -> boolean; ``integer()``/``non_neg_integer()``/``pos_integer()``/``range(A, B)``/
    ``A..B`` types -> integer (+ ``min``/``max``); ``float()`` -> float; ``number()`` -> number;
    ``string()``/``binary()``/``nonempty_string()``/``iodata()``... -> string; ``atom()`` -> atom;
    ``map()`` -> map (free-form object); ``list(T)`` -> array; ``emqx_schema:duration()`` and the
    other reflected emqx types keep their own name (duration, duration_ms, duration_s,
    timeout_duration*, bytesize, wordsize, percent, ip_port, url, comma_separated_list,
    comma_separated_atoms, comma_separated_binary, json_binary, template, cipher, secret...);
    typerefl aliases (``typerefl:alias(Name, T)``) keep their name: ``emqx_schema:qos()`` -> qos (0, 1
    or 2), ``emqx_coap_schema:block_size()`` -> block_size...
"""
