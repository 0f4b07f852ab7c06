//! Page experiments: per variant its visitors and measures, and against the control the
//! difference with its 95 % confidence interval, said plainly.

use leptos::prelude::*;
use rapport_core::report::{Interval, VariantResult, VersusControl};

use crate::app::Data;
use crate::format::{pct, secs, signed_points, signed_secs};
use crate::i18n::{Lang, Texts};
use crate::versus::Verdicts;

type Measure = (
    &'static str,
    fn(&Texts) -> &'static str,
    fn(&VariantResult) -> Option<f64>,
    fn(&VersusControl) -> Option<Interval>,
);

static MEASURES: [Measure; 4] = [
    (
        "engagement_rate",
        |t| t.engagement,
        |v| v.engagement_rate,
        |c| c.engagement_rate.clone(),
    ),
    (
        "bounce_rate",
        |t| t.bounce,
        |v| v.bounce_rate,
        |c| c.bounce_rate.clone(),
    ),
    (
        "avg_engaged_ms",
        |t| t.engaged,
        |v| v.avg_engaged_ms,
        |c| c.avg_engaged_ms.clone(),
    ),
    (
        "conversion_rate",
        |t| t.conversion,
        |v| v.conversion_rate,
        |c| c.conversion_rate.clone(),
    ),
];

#[component]
pub fn ExperimentTables(data: RwSignal<Data>, lang: Memo<Lang>) -> impl IntoView {
    let texts = move || lang.get().texts();
    let tables = move || {
        let l = lang.get();
        let t = texts();
        let Some(report) = data.with(|d| d.experiments.clone()) else {
            return view! { <p>{t.no_experiments}</p> }.into_any();
        };
        if report.experiments.is_empty() {
            return view! { <p>{t.no_experiments}</p> }.into_any();
        }
        let goal = report.goal.clone();
        report
            .experiments
            .into_iter()
            .map(|x| {
                let heads = MEASURES
                    .iter()
                    .map(|(_, label, _, _)| view! { <th>{label(t)}</th> })
                    .collect_view();
                let rows = x
                    .variants
                    .into_iter()
                    .map(|v| {
                        let name = if v.index == 0 {
                            format!("{} {}", v.variant, t.control)
                        } else {
                            v.variant.clone()
                        };
                        let cells = MEASURES
                            .iter()
                            .map(|(key, _, value, versus)| {
                                let time = *key == "avg_engaged_ms";
                                let shown = if time {
                                    secs(l, value(&v))
                                } else {
                                    pct(l, value(&v))
                                };
                                let compared = v.versus_control.as_ref().map(|c| {
                                    let show = move |x: f64| {
                                        if time {
                                            signed_secs(l, x)
                                        } else {
                                            signed_points(l, x)
                                        }
                                    };
                                    let words = Verdicts {
                                        higher: t.higher,
                                        lower: t.lower,
                                        open: t.not_yet,
                                        too_few: t.too_few,
                                        too_few_verdict: t.not_yet,
                                    };
                                    crate::versus::compared(versus(c).as_ref(), show, words)
                                });
                                view! { <td data-measure=*key>{shown}{compared}</td> }
                            })
                            .collect_view();
                        view! {
                            <tr data-variant=v.variant.clone()>
                                <td>{name}</td>
                                <td>{v.visitors}</td>
                                {cells}
                            </tr>
                        }
                    })
                    .collect_view();
                let caption = format!("{} ({}: {goal})", x.experiment, t.conversion);
                view! {
                    <div class="scroll">
                        <table data-experiment=x.experiment.clone()>
                            <caption>{caption}</caption>
                            <tr>
                                <th>{t.variant}</th>
                                <th>{t.visitors}</th>
                                {heads}
                            </tr>
                            {rows}
                        </table>
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    // One line per variant and measure: its value, and against the control the difference
    // with its interval.
    let export = move |_| {
        let mut table = vec![[
            "experiment",
            "variant",
            "visitors",
            "measure",
            "value",
            "difference",
            "low",
            "high",
            "distinguishable",
        ]
        .map(String::from)
        .to_vec()];
        let report = data.with(|d| d.experiments.clone());
        for x in report.map(|r| r.experiments).unwrap_or_default() {
            for v in &x.variants {
                for (key, _, value, versus) in MEASURES.iter() {
                    let i = v.versus_control.as_ref().and_then(versus);
                    let num = |f: Option<f64>| f.map(|f| f.to_string()).unwrap_or_default();
                    table.push(vec![
                        x.experiment.clone(),
                        v.variant.clone(),
                        v.visitors.to_string(),
                        key.to_string(),
                        num(value(v)),
                        num(i.as_ref().map(|i| i.difference)),
                        num(i.as_ref().map(|i| i.low)),
                        num(i.as_ref().map(|i| i.high)),
                        i.map(|i| i.excludes_zero.to_string()).unwrap_or_default(),
                    ]);
                }
            }
        }
        crate::csv::download("experiments.csv", &table);
    };
    view! {
        <div class="section-head">
            <h2 id="experiments-heading">{move || texts().experiments}</h2>
            <button type="button" class="quiet" on:click=export>{move || texts().export}</button>
        </div>
        <p class="legend">{move || texts().experiments_intro}</p>
        <div id="experiments" aria-labelledby="experiments-heading">{tables}</div>
    }
}
