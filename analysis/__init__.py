"""Interim analysis of NCT07021534: reading, validation, derivations, statistics, tables, figures, rendering."""
