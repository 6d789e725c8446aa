# The seeded synthetic export of this trial (data.source: demo), so that a fresh
# clone runs end to end without real data. A real export is never generated.
if config["data"]["source"] == "demo":

    rule demo_export:
        output:
            directory(EXPORT),
        params:
            code=code_version("demo_export"),
            seed=config["data"].get("demo_seed", 20251015),
            size=config["data"].get("demo_size", "phase1a"),
            cut=CUT,
        log:
            "logs/demo_export.log",
        run:
            run_script("demo_export", input, output, params, wildcards, threads, log)
