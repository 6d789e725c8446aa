# Analysis datasets (ADaM) from the validated, data-cut domains.
checkpoint adsl:
    input:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=DOMAINS),
        meta=f"{R}/sdtm/domains.json",
    output:
        f"{R}/adam/adsl.parquet",
    params:
        code=code_version("adsl"),
        cfg=settings("data_cut", "dose_levels", "dose_match_tolerance", "reference_start",
                     "dlt_window", "subgroups"),
    log:
        f"{R}/logs/adsl.log",
    threads: 1
    resources:
        mem_mb=lambda wc, input: max(1000, int(8 * input.size_mb)),
    run:
        run_script("adsl", input, output, params, wildcards, threads, log)
