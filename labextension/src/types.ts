/**
 * The JSON the jupyter-mlops server answers, route by route.
 *
 * These types mirror the server's contract and nothing more: the panel renders
 * what it receives and computes nothing the server could get wrong differently.
 */

/** A parameter or tag value as the registry stores it. */
export type Scalar = string | number | boolean | null;

/** A time as the server sends it: ISO 8601 text or seconds since the epoch. */
export type Timestamp = string | number | null;

export interface IStatus {
  version: string;
  root_dir: string;
  registry: { path: string | null; exists: boolean };
}

export interface IChanges {
  marker: string;
}

export interface IExperiment {
  name: string;
  runs: number;
  last_started_at: Timestamp;
}

export interface IExperiments {
  experiments: IExperiment[];
}

/** A value as JSON carries it: parameters may be lists or objects too. */
export type Value = Scalar | Value[] | { [key: string]: Value };

export interface IRunSummary {
  id: string;
  name: string;
  experiment: string;
  status: string;
  kind?: string;
  started_at: Timestamp;
  ended_at: Timestamp;
  duration: number | null;
  /** The notebook as the kernel recorded it (usually an absolute path). */
  notebook_path: string | null;
  /** The same notebook relative to the server root, or null when JupyterLab cannot open it. */
  notebook_lab_path?: string | null;
  previous_run_id?: string | null;
  /** The run this one is a child of (a sweep's trial, a search's candidate). */
  parent_run_id?: string | null;
  /** How many runs have this one as parent. */
  children?: number;
  params: Record<string, Value>;
  metrics: Record<string, number | null>;
}

export interface IRunsPage {
  runs: IRunSummary[];
  total: number;
  page: number;
  page_size: number;
  pages?: number;
  sort?: string;
  /** Pass as `after` (or `before`) to read the page after (or before) this one. */
  next_cursor?: string | null;
  previous_cursor?: string | null;
  /** The run whose children this page lists (`parent=ID`), else null. */
  parent?: string | null;
  /** Whether only runs without a parent were listed (`top_level=true`). */
  top_level?: boolean;
  /** The page's parameter and metric keys, the most common first. */
  columns: { params: string[]; metrics: string[] };
}

export interface IRun extends IRunSummary {
  previous_run_id: string | null;
  git_commit: string | null;
  git_branch?: string | null;
  git_dirty: boolean | null;
  error: string | null;
  /** Free text written with run.note() or %mlops note. */
  note?: string | null;
  /** When the run was archived (hidden from lists); null when it is not. */
  archived_at?: Timestamp;
}

export interface IParam {
  key: string;
  value: Value;
  type: string;
  source: string;
}

export interface IMetricSummary {
  key: string;
  last: number | null;
  min: number | null;
  max: number | null;
  count: number;
  last_step: number | null;
}

/** A model version a run was registered as. */
export interface IVersionRef {
  model: string;
  version: number;
  aliases: string[];
}

/** One point of a metric series: [step, value]. */
export type Point = [number, number | null];

export interface ICodeCell {
  seq: number;
  execution_count: number | null;
  source: string;
}

export interface IEnvironment {
  python: string;
  platform: string;
  packages: Record<string, string>;
}

export interface IRunSnapshot {
  id: string;
  name: string;
  role: string;
  fingerprint: string;
  n_rows: number;
  n_columns: number;
}

/** A file of a run: logged, displayed by one of its cells, or a registered model. */
export interface IRunArtifact {
  name: string;
  /** file | figure | image | table | text | model */
  kind: string;
  media_type: string;
  size: number;
  sha256: string;
  created_at: number | null;
  execution_count: number | null;
  cell_id: string | null;
  /** The route that serves its bytes, under the API: `artifacts/SHA256`. */
  href: string;
  /** Whether a browser shows it as an image. */
  image: boolean;
  /** A table's first rows or the start of a text; null for the rest. */
  preview: {
    table: { columns: string[]; rows: Scalar[][]; total_rows: number } | null;
    text: string | null;
    truncated: boolean;
  } | null;
}

export interface IRunDetail {
  run: IRun;
  params: IParam[];
  metrics: IMetricSummary[];
  /** Each curve: whole up to 2,048 points, else its preview (see `downsampled`). */
  series: Record<string, Point[]>;
  /**
   * Keys of the curves sent as previews: the lowest and highest point of each step range
   * and the last point; `metrics[].count` is how many points each logged (absent before
   * previews existed).
   */
  downsampled?: string[];
  code: ICodeCell[];
  environment: IEnvironment | null;
  snapshots: IRunSnapshot[];
  tags: Record<string, Scalar>;
  /** Model versions registered from this run (absent before models existed). */
  models?: IVersionRef[];
  /** Gate evaluations of this run, newest first. */
  gates?: IGateEvaluation[];
  /** The run's artifacts by name (absent before artifacts existed). */
  artifacts?: IRunArtifact[];
  /** The earlier cells the run depended on; null when none was recorded. */
  closure?: IClosure | null;
  /** Its reproductions (and the one it is, if it is one), oldest first. */
  reproductions?: IReproduction[];
}

/** What a notebook run depended on, recorded when it ended. */
export interface IClosure {
  cells: { execution_count: number; source: string; provides: string[] }[];
  files: { path: string; resolved: string; sha256: string | null; size: number | null }[];
  unresolved: string[];
  directory: string | null;
}

/** One attempt to run a past run again, with its verdict. */
export interface IReproduction {
  id: number;
  original_run_id: string;
  run_id: string | null;
  environment: string;
  /** parity | mismatch | not_checked | failed */
  status: string;
  summary: string;
  started_at: number;
  ended_at: number;
}

/** The verdict of a reproduction the server ran (`GET reproductions/jobs/JOB`). */
export interface IReproductionVerdict {
  /** parity | mismatch | not_checked | failed */
  status: string;
  summary: string;
  original_run_id: string;
  /** The run the reproduction recorded, if it got that far. */
  run_id: string | null;
  reason: string;
  causes: string[];
  notes: string[];
  differs_from_here: string[];
  reproduction_id: number;
  seconds: number;
  notebook: string | null;
  /** The executed notebook relative to the server root, when it lies inside it. */
  notebook_lab_path: string | null;
}

/** A reproduction the server runs in the background, as far as it got. */
export interface IReproductionJob {
  job: string;
  run_id: string;
  run_name: string;
  environment: string;
  data_from_snapshots: boolean;
  params: Record<string, unknown>;
  /** running | done | failed */
  state: string;
  started_at: number;
  ended_at: number | null;
  lines: string[];
  verdict: IReproductionVerdict | null;
  error: { message: string; hint: string | null } | null;
}

/** `GET runs/ID/reproduce`: the environments it can run in and the run's last job. */
export interface IReproduceState {
  environments: { name: string; title: string }[];
  job: IReproductionJob | null;
}

/** One parameter of a sweep as an axis: numeric with its range, or its categories. */
export interface ISweepAxis {
  key: string;
  numeric: boolean;
  low: number | null;
  high: number | null;
  categories: string[];
  log_scale: boolean;
}

/** One child of a sweep. */
export interface ISweepChild {
  id: string;
  name: string;
  status: string;
  params: Record<string, Value>;
  /** Its value of the sweep's metric; null when it has none. */
  value: number | null;
  /** Whether the search that ran it marked it best. */
  marked_best: boolean;
  /** Where each parameter sits on its axis, 0 (bottom) to 1 (top), in the order of `axes`. */
  positions: (number | null)[];
}

/** `GET runs/ID/sweep`: a parent's children against one metric. */
export interface ISweep {
  parent: IRunSummary;
  metric: string | null;
  /** Whether a higher value of the metric is better. */
  maximize: boolean;
  /** Every metric the children logged, the most common first. */
  metrics: string[];
  axes: ISweepAxis[];
  children: ISweepChild[];
  /** The id of the child with the best value, or null. */
  best: string | null;
}

export interface ISnapshot {
  id: string;
  name: string;
  kind: string;
  fingerprint: string;
  n_rows: number;
  n_columns: number;
  created_at: Timestamp;
  /** How many runs read it. */
  runs?: number;
  materialized?: boolean;
}

export interface ISnapshots {
  snapshots: ISnapshot[];
  total?: number;
}

export interface IModelVersion {
  version: number | string;
  aliases?: string[];
  run_id: string | null;
  run_name?: string | null;
  flavor: string;
  model_class?: string;
  created_at: Timestamp;
  metrics: Record<string, Scalar>;
  /** The latest gate evaluation that concerns this version, or null. */
  gate?: IGateEvaluation | null;
}

export interface IModel {
  name: string;
  versions: IModelVersion[];
  aliases: Record<string, number | string>;
}

export interface IModels {
  models: IModel[];
}

/** The value of each group behind a fairness rule's number (gates/groups.py). */
export interface IGroupTable {
  of: string;
  column: string;
  metrics: string[];
  groups: string[];
  counts: number[];
  values: (number | null)[][];
}

export interface IGateRule {
  rule: string;
  kind?: string;
  passed: boolean;
  actual: Value;
  expected: Scalar;
  detail?: string;
  groups?: IGroupTable[];
}

export interface IGateEvaluation {
  id: string;
  purpose?: string;
  run_id: string | null;
  run_name?: string | null;
  model: string | null;
  version?: number | null;
  alias?: string | null;
  passed: boolean;
  summary?: string;
  evaluated_at: Timestamp;
  rules: IGateRule[];
}

export interface IGates {
  evaluations: IGateEvaluation[];
}

/** What a drift column's chart draws: shares of each side on shared bins or categories. */
export interface IDriftColumnChart {
  kind: string;
  /** k + 1 bin edges of a numeric (or datetime: epoch seconds) column; the end bins take the tails. */
  bins: number[];
  /** The categories of a categorical column. */
  labels: string[];
  reference: number[];
  current: number[];
}

export interface IDriftColumn {
  column: string;
  /** monitor, review or retrain (older servers sent only the verdict). */
  decision?: string;
  verdict: string;
  reason?: string;
  test: string;
  statistic: number | null;
  p_adjusted: number | null;
  effect: number | null;
  effect_name?: string;
  /** Present for the newest reports. */
  chart?: IDriftColumnChart | null;
}

export interface IDriftReport {
  id: string;
  created_at: Timestamp;
  decision: string;
  reference: string;
  current: string;
  columns: IDriftColumn[];
  /** An effect at or above this is material (present with the charts). */
  effect_threshold?: number;
  alpha?: number;
}

export interface IDriftReports {
  reports: IDriftReport[];
}

export interface IPipelineStep {
  name: string;
  status: string;
  duration: number | null;
  cached: boolean;
}

export interface IPipelineRun {
  id: string;
  pipeline: string;
  status: string;
  started_at: Timestamp;
  duration: number | null;
  steps: IPipelineStep[];
  /** (parent, step) pairs: the order the pipeline's steps run in. */
  edges: [string, string][];
}

export interface IPipelineRuns {
  runs: IPipelineRun[];
}

/** What `POST export` wrote: paths relative to the server root. */
export interface IExportResult {
  notebook: string;
  output_dir: string;
  steps: string[];
  files: string[];
  targets: string[];
  warnings: string[];
  command: string;
}

/** `PATCH runs/ID`: what each change did, in words, and the run as it is now. */
export interface IRunChanges {
  changes: { action: string; message: string }[];
  run: IRun;
}

/** `GET runs/ID/purge`: what purging the run would delete and keep. */
export interface IPurgePlan {
  run_id: string;
  name: string;
  /** The run and its children, which go with it. */
  runs: string[];
  /** Artifacts only these runs use: their files are deleted. */
  unique_artifacts: number;
  /** Artifacts other records use: they stay. */
  shared_artifacts: number;
  bytes_freed: number;
  message: string;
}

/** `DELETE runs/ID?confirm=true`: what the purge deleted. */
export interface IPurgeResult {
  purged: string[];
  removed_artifacts: string[];
  kept_artifacts: string[];
  bytes_freed: number;
  message: string;
}

/** `GET` and `PATCH experiments/NAME`: an experiment's note (null: none). */
export interface IExperimentNote {
  experiment: string;
  note: string | null;
  message?: string;
}

/** One metric of one run in `GET compare`: its curve (a preview when `logged` is set). */
export interface ICompareCurveRun {
  id: string;
  points: Point[];
  logged: number | null;
}

/** `GET compare?runs=ID,ID`: runs side by side. */
export interface IComparison {
  runs: IRunSummary[];
  /** One value per run, in the order of `runs`; `differs` when they are not all equal. */
  params: { key: string; values: Value[]; differs: boolean }[];
  /** Each run's last value. */
  metrics: { key: string; values: (number | null)[] }[];
  /** The curves to overlay, one per run that logged the metric more than once. */
  curves: { key: string; runs: ICompareCurveRun[] }[];
}

/** A stored monitor window of a served model (`GET models/NAME/monitoring`). */
export interface IMonitorWindow {
  model: string;
  window: string;
  window_seconds: number;
  start: number;
  end: number;
  /** The window's start as the terminal prints it: "2026-12-04 13:00" (UTC). */
  start_text: string;
  /** Where the window sits on the charts' x axis (time since the first window, in x_name units). */
  x: number;
  version: string | null;
  n_predictions: number;
  n_labelled: number;
  /** monitor, review, retrain; null when the window was not tested. */
  decision: string | null;
  retrain_columns: string[];
  review_columns: string[];
  input_report_id: string | null;
  prediction_report_id: string | null;
  latency_p50_ms: number | null;
  latency_p99_ms: number | null;
  /** Live metrics per version: {"1": {"accuracy": 0.91}}. */
  metrics: Record<string, Record<string, number | null>>;
  comparison: Record<string, Value> | null;
  /** The champion-challenger verdict of the window's paired rows, if a shadow scored them. */
  verdict: string | null;
  /** The fairness rules checked on the window: passed is null when not computable there. */
  fairness: { rule: string; passed: boolean | null; detail: string }[];
  /** The fairness rules the window broke. */
  fairness_failed: string[];
  note: string;
  computed_at: number;
  /** The window in one line, as the terminal prints it (the strip's tooltip). */
  line: string;
}

/** A chart's series as the server lays it out: [x, value] points. */
export interface IMonitorSeries {
  name: string;
  points: Point[];
}

/** The windows of one length, newest first, with their charts' series. */
export interface IMonitorLength {
  window: string;
  window_seconds: number;
  decision: string | null;
  /** Windows stored of this length; `shown` of them, the newest, are sent. */
  total: number;
  shown: number;
  x_label: string;
  /** The x axis's unit, as a point's tooltip names it: "hour", "minute", "day". */
  x_name: string;
  windows: IMonitorWindow[];
  latency: IMonitorSeries[];
  metrics: IMonitorSeries[];
}

/** What the last "Run monitor now" did. */
export interface IMonitorRun {
  window: string;
  computed: number;
  decision: string | null;
  notes: string[];
  message: string;
}

export interface IMonitoring {
  model: string;
  aliases: Record<string, number | string>;
  window: string | null;
  /** The newest tested window's decision, over every length. */
  decision: string | null;
  decided_by: string | null;
  /** The lengths offered for "Run monitor now". */
  choices: string[];
  lengths: IMonitorLength[];
  /** Present in the answer of POST: what the monitor did. */
  run?: IMonitorRun;
}
