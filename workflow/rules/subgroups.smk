# Subgroup analyses (SAP §8) and the baseline characteristics by dose level (T-DEMO):
# ARD parts `subgroups` (subgroup, orr/dcr per factor level, subgroup_km, fisher, cox)
# and `demog`; T-SUBGRP, T-DEMO, F-FOREST-ORR, F-FOREST-PFS, text/subgroups.md.
# Then the Phase IB readiness summary (SAP §10, report 2), from the ARD: T-P1B-* tables
# and text/phase-ib-*.md, rendered by reports/phase-ib-readiness.qmd (REPORTS).
# Logic in analysis/subgroups.py, subgroup_outputs.py, subgroup_figures.py, readiness.py;
# file steps in analysis/steps_subgroups.py.

SUBGROUP_TABLES = ["T-DEMO", "T-SUBGRP"]
SUBGROUP_FIGURES = ["F-FOREST-ORR", "F-FOREST-PFS"]
READINESS_TABLES = ["T-P1B-ESC", "T-P1B-SAFETY", "T-P1B-RESP", "T-P1B-COHORTS", "T-P1B-FACTS"]
READINESS_TEXTS = ["phase-ib-escalation", "phase-ib-safety", "phase-ib-response"]
ARD_PARTS += ["subgroups", "demog"]
TABLES += SUBGROUP_TABLES + READINESS_TABLES
FIGURES += SUBGROUP_FIGURES
TEXTS += ["subgroups"] + READINESS_TEXTS


checkpoint ard_subgroups:
    input:
        adsl=f"{R}/adam/adsl.parquet",
        adrs=f"{R}/adam/adrs.parquet",
        adtte=f"{R}/adam/adtte.parquet",
        meta=f"{R}/sdtm/domains.json",
    output:
        f"{R}/ard/parts/subgroups.parquet",
    params:
        code=code_version("subgroups_ard"),
        cfg=settings("subgroups", "small_group_n", "dose_levels"),
    run:
        run_script("subgroups_ard", input, output, params, wildcards, threads, log)


checkpoint ard_demog:
    input:
        adsl=f"{R}/adam/adsl.parquet",
    output:
        f"{R}/ard/parts/demog.parquet",
    params:
        code=code_version("subgroups_demog"),
        cfg=settings("subgroups", "dose_levels"),
    run:
        run_script("subgroups_demog", input, output, params, wildcards, threads, log)


checkpoint tables_subgroups:
    input:
        ard=ard_parts("efficacy", "subgroups", "demog"),
    output:
        tables=expand(f"{R}/tables/{{id}}.{{ext}}", id=SUBGROUP_TABLES, ext=TABLE_EXTS),
        figures=expand(f"{R}/figures/{{id}}.{{ext}}", id=SUBGROUP_FIGURES, ext=["png", "svg"]),
        text=f"{R}/text/subgroups.md",
    params:
        code=code_version("subgroups_outputs"),
        cfg=settings("subgroups", "small_group_n", "dose_levels"),
        table_dir=f"{R}/tables",
        fig_dir=f"{R}/figures",
    run:
        run_script("subgroups_outputs", input, output, params, wildcards, threads, log)


checkpoint readiness:
    input:
        ard=ard_parts("sets", "dlt", "escalation", "teae_ovr", "efficacy", "subgroups", "demog"),
    output:
        tables=expand(f"{R}/tables/{{id}}.{{ext}}", id=READINESS_TABLES, ext=TABLE_EXTS),
        texts=expand(f"{R}/text/{{name}}.md", name=READINESS_TEXTS),
    params:
        code=code_version("readiness"),
        cfg=settings("study", "data_cut", "dose_levels", "car_nk_dose", "small_group_n", "phase_ib"),
        table_dir=f"{R}/tables",
        text_dir=f"{R}/text",
    run:
        run_script("readiness", input, output, params, wildcards, threads, log)
