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

-- Is a value significantly better or worse than a reference? (indicators.md: significant when
-- the two 95% intervals do not overlap; intervals that touch overlap.) Returns better_word,
-- worse_word, 'no significant change', or 'no data' when either value is missing.
create or replace temp macro pmf_compare(
    value, ci_lower, ci_upper, reference, reference_lower, reference_upper, polarity, better_word, worse_word
) as
case
    when value is null or reference is null then 'no data'
    when ci_lower > reference_upper or ci_upper < reference_lower
        then case when (polarity = 'lower') = (value < reference) then better_word else worse_word end
    else 'no significant change'
end;
