# Cellular kinetics, biodistribution and cytokines (SAP §9): ADPC, ADPP, ADCYT, the
# `kinetics` ARD part, T-NCA, T-BIODIST, T-CYTO, F-PK, F-CYTO and the kinetics text.
# Without PC in the export the kinetics outputs say "not done" and the run goes on.
ADAM += ["adpc", "adpp", "adcyt"]
ARD_PARTS += ["kinetics"]
TABLES += ["T-NCA", "T-BIODIST", "T-CYTO"]
FIGURES += ["F-PK", "F-CYTO"]
TEXTS += ["kinetics", "kinetics-fig-pk", "kinetics-fig-cyto"]


checkpoint kinetics_adam:
    input:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=["pc", "ex", "lb", "ae"]),
        meta=f"{R}/sdtm/domains.json",
        adsl=f"{R}/adam/adsl.parquet",
    output:
        adpc=f"{R}/adam/adpc.parquet",
        adpp=f"{R}/adam/adpp.parquet",
        adcyt=f"{R}/adam/adcyt.parquet",
    params:
        code=code_version("kinetics_adam"),
        cfg=settings("kinetics"),
    run:
        run_script("kinetics_adam", input, output, params, wildcards, threads, log)


checkpoint ard_kinetics:
    input:
        sdtm=expand(f"{R}/sdtm/{{dom}}.parquet", dom=["pc", "ex", "tu", "tr", "cm"]),
        meta=f"{R}/sdtm/domains.json",
        adsl=f"{R}/adam/adsl.parquet",
        adpc=f"{R}/adam/adpc.parquet",
        adpp=f"{R}/adam/adpp.parquet",
        adcyt=f"{R}/adam/adcyt.parquet",
    output:
        f"{R}/ard/parts/kinetics.parquet",
    params:
        code=code_version("kinetics_ard"),
        cfg=settings("dose_levels", "small_group_n", "kinetics"),
    run:
        run_script("kinetics_ard", input, output, params, wildcards, threads, log)


checkpoint tables_kinetics:
    input:
        ard=ard_parts("sets", "kinetics"),
    output:
        expand(f"{R}/tables/{{id}}.{{ext}}", id=["T-NCA", "T-BIODIST", "T-CYTO"], ext=TABLE_EXTS),
    params:
        code=code_version("kinetics_tables"),
        cfg=settings("dose_levels", "small_group_n", "kinetics", "car_nk_dose"),
        out_dir=f"{R}/tables",
    run:
        run_script("kinetics_tables", input, output, params, wildcards, threads, log)


checkpoint figures_kinetics:
    input:
        ard=ard_parts("kinetics"),
        adpc=f"{R}/adam/adpc.parquet",
        adcyt=f"{R}/adam/adcyt.parquet",
    output:
        expand(f"{R}/figures/{{id}}.{{ext}}", id=["F-PK", "F-CYTO"], ext=["png", "svg"]),
    params:
        code=code_version("kinetics_figures"),
        cfg=settings("dose_levels", "small_group_n", "car_nk_dose"),
        out_dir=f"{R}/figures",
    run:
        run_script("kinetics_figures", input, output, params, wildcards, threads, log)


checkpoint text_kinetics:
    input:
        ard=ard_parts("sets", "kinetics"),
    output:
        text=f"{R}/text/kinetics.md",
        fig_pk=f"{R}/text/kinetics-fig-pk.md",
        fig_cyto=f"{R}/text/kinetics-fig-cyto.md",
    params:
        code=code_version("kinetics_text"),
        cfg=settings("dose_levels", "small_group_n"),
    run:
        run_script("kinetics_text", input, output, params, wildcards, threads, log)
