-- Shared SQL macros, created (as temporary macros, so they never land in the marts) before any model runs.

-- Whole years between a date of birth and a date (contract: "Age = whole years between dob and
-- the event date"). A dob after the date (an unborn child on a CP plan) is age 0.
create or replace temp macro pmf_age_years(dob, on_date) as
greatest(
    0,
    year(on_date) - year(dob)
    - case when month(on_date) * 100 + day(on_date) < month(dob) * 100 + day(dob) then 1 else 0 end
);

-- Period label (2018-19 Q3) from a period folder id (2018-19-Q3).
create or replace temp macro pmf_period_label(folder_id) as regexp_replace(folder_id, '-Q', ' Q');

-- Financial-year quarter label (2018-19 Q3) of a date: Q1 = Apr-Jun ... Q4 = Jan-Mar.
create or replace temp macro pmf_period_of(on_date) as
format(
    '{}-{:02d} Q{}',
    year(on_date) - case when month(on_date) < 4 then 1 else 0 end,
    (year(on_date) - case when month(on_date) < 4 then 1 else 0 end + 1) % 100,
    (month(on_date) + 8) % 12 // 3 + 1
);

-- Is a value significantly higher or lower than a reference? (indicators.md: significant when
-- the two 95% intervals do not overlap; intervals that touch overlap.) Polarity-free, so that
-- the comparison with the board LA (indicator_comparison.vs_board) and the judgements by
-- polarity (pmf_compare) use one rule. Returns 'significantly higher', 'significantly lower',
-- 'not significantly different', or null when either value is missing.
create or replace temp macro pmf_significance(value, ci_lower, ci_upper, reference, reference_lower, reference_upper) as
case
    when value is null or reference is null then null
    when ci_lower > reference_upper then 'significantly higher'
    when ci_upper < reference_lower then 'significantly lower'
    else 'not significantly different'
end;

-- Is a value significantly better or worse than a reference (pmf_significance, read by the
-- indicator's polarity)? Returns better_word, worse_word, 'no significant change', or 'no data'
-- when either value is missing.
create or replace temp macro pmf_judged(significance, polarity, better_word, worse_word) as
case
    when significance is null then 'no data'
    when significance = 'not significantly different' then 'no significant change'
    when (polarity = 'lower') = (significance = 'significantly lower') then better_word
    else worse_word
end;

create or replace temp macro pmf_compare(
    value, ci_lower, ci_upper, reference, reference_lower, reference_upper, polarity, better_word, worse_word
) as
pmf_judged(
    pmf_significance(value, ci_lower, ci_upper, reference, reference_lower, reference_upper),
    polarity,
    better_word,
    worse_word
);
