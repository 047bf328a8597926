"""How steps are worded: each tool's phrases per difficulty, the frames around them, the settings a
step states (and the scorer compares), and the words a description uses to refer back to an output.

Data only. The generator (tasks.py) fills these with a step's settings (`{d}`), its input (`{src}`)
and the task's values; the derivability check (derivable.py) proves the result states every step.
"""

from __future__ import annotations

# Typical-uses paraphrases (hard): key content words of each tool's `uses`, never a phrase verbatim.
# Placeholders: {src} the step's main input, {d} the step's detail in plain words.
_HARD: dict[str, tuple[str, ...]] = {
    "data_processing_parser": (
        "turn {src} from a raw {fmt} dump into usable rows",
        "break the raw {fmt} export down into structured records",
        "pull structured entries out of the raw {fmt} content",
        "extract the structured entries from {src}, raw {fmt} content",
        "turn {src}, a raw {fmt} dump, into usable rows",
        "pull structured entries out of {src}, which is {fmt}",
    ),
    "data_processing_transformer": (
        "normalise the records to house conventions ({d})",
        "reshape the fields so they follow house conventions ({d})",
        "bring the figures in line with our conventions ({d})",
        "normalise {src} to house conventions ({d})",
        "reshape the fields of {src} so they follow house conventions ({d})",
        "bring the figures in {src} in line with our conventions ({d})",
        "clean up the fields of {src}: {d}",
    ),
    "data_processing_filter": (
        "narrow the data down to the entries that matter: {d}",
        "keep just the relevant entries, those where {d}",
        "drop every row that fails the criterion that {d}",
        "narrow {src} down to the entries that matter: those where {d}",
        "keep just the relevant entries of {src}, those where {d}",
        "drop every entry of {src} except those where {d}",
        "cut {src} down to the entries where {d}",
    ),
    "data_processing_validator": (
        "check the quality of the records before they are used ({d})",
        "catch any out-of-range or malformed entries ({d})",
        "confirm the records meet the quality rules ({d})",
        "check the quality of {src} before it is used ({d})",
        "catch any out-of-range or malformed entries in {src} ({d})",
        "confirm that {src} meets the quality rules ({d})",
    ),
    "data_processing_aggregator": (
        "roll the detail up into headline numbers: {d}",
        "produce per-segment figures: {d}",
        "summarise the data by group, giving {d}",
        "produce the totals per segment from {src}: {d}",
        "roll {src} up into headline numbers: {d}",
        "summarise {src} by group, giving {d}",
        "produce per-segment figures from {src}: {d}",
    ),
    "file_operations_reader": (
        "open the {subject} kept at the source path",
        "load the {subject} from the file at the source path",
        "read in the {subject} an earlier job left at the source path",
    ),
    "file_operations_reader@listed": (
        "open the file the scan listed",
        "load the listed file from the folder",
        "read in the file that the listing found",
    ),
    "file_operations_writer": (
        "save {src} to a file at the output path{d}",
        "leave a copy at the output path where others can find it{d}",
        "persist {src} at the output path for later use{d}",
        "leave a copy of {src} at the output path where others can find it{d}",
        "store {src} as a file at the output path{d}",
    ),
    "file_operations_scanner": (
        "find which {fmt} files arrived in the source folder",
        "list the {fmt} uploads that are waiting in the source folder",
        "take stock of the {fmt} uploads in the source directory",
    ),
    "file_operations_converter": (
        "switch the content's format over to {d}",
        "change the format of the content to {d} so a newer system can use it",
        "make the legacy content usable as {d}",
        "change the format of {src} to {d}",
        "make {src} usable by a newer system as {d}",
        "switch {src} to the open standard {d}",
        "change the format of {src} to {d} so a newer system can use it",
    ),
    "file_operations_compressor": (
        "shrink {src} for storage with {d}",
        "pack {src} tightly for archiving, using {d}",
        "cut the size of {src} with {d}",
        "shrink the saved file for storage with {d}",
        "cut the size of the saved file with {d}",
    ),
    "network_fetcher": (
        "pull the latest data from the provider's source URL{d}",
        "download the feed from the remote service at the source URL{d}",
        "bring in the data from the provider's API at the source URL{d}",
    ),
    "network_poster": (
        "hand {src} over to the partner's API at the endpoint{d}",
        "submit {src} as a batch to the external platform's endpoint{d}",
        "push {src} upstream to the endpoint{d}",
    ),
    "network_monitor": (
        "keep an eye on whether the service behind {src} stays up, checking {d}",
        "watch the response times of the service behind {src} {d}",
        "check the health of the service behind {src} {d}",
    ),
    "network_router": (
        "steer the requests to the {d} region",
        "spread the traffic to the regional backend in {d}",
        "balance the load by sending the requests to the {d} site",
        "steer {src} to {d}",
        "spread the traffic of {src} to {d}",
        "balance the load by sending {src} to {d}",
    ),
    "network_validator": (
        "make sure the provider's reply can be trusted",
        "confirm that the upstream answer honours its contract",
        "verify that the reply is sound before anything else uses it",
        "make sure {src}, a reply, can be trusted",
        "verify {src} before anything else uses it",
        "make sure {src} can be trusted",
        "confirm that {src} honours its contract",
        "verify that {src} is sound before anything else uses it",
    ),
    "computation_calculator": (
        "work out the exact figure: {d}",
        "compute a single figure from the data: {d}",
        "derive the exact amount: {d}",
        "work out the exact figure from {src}: {d}",
        "compute a single figure from {src}: {d}",
        "derive the exact amount from {src}: {d}",
    ),
    "computation_analyzer": (
        "find the patterns in the figures ({d})",
        "understand what drives the numbers ({d})",
        "spot whatever looks unusual in the figures ({d})",
        "find the patterns in {src}, namely {d}",
        "understand what drives the figures in {src}: {d}",
    ),
    "computation_predictor": (
        "estimate {d} ahead of planning",
        "anticipate {d}",
        "forecast {d} for the planning round",
        "estimate {d} from {src}, ahead of planning",
        "anticipate {d}, based on {src}",
        "forecast {d} from {src} for the planning round",
    ),
    "computation_optimizer": (
        "pick the plan that is best, one that {d}",
        "get the most out of the figures with a plan that {d}",
        "find the best plan within the constraints, one that {d}",
        "pick, from {src}, the plan that is best: one that {d}",
        "get the most out of {src} with a plan that {d}",
        "find the best plan within the constraints from {src}, one that {d}",
    ),
    "computation_simulator": (
        "stress-test the figures under {d}",
        "try {d} on paper to see how things would fare",
        "see how things would fare under the shock of {d}",
        "stress-test {src} under {d}",
        "try {d} on paper with {src} to see how things would fare",
        "see how {src} would fare under {d}",
    ),
    "integration_authenticator": (
        "log in to the {service} platform with the stored credential",
        "get cleared to use {service} with the stored credential",
        "prove who we are to {service} with the stored credential",
    ),
    "integration_connector": (
        "open a live line into the back-office system {target} {d}",
        "hook up to the {target} system {d}",
        "set up a link to {target} {d}",
        "open a live line into the back-office system {target} within the session {d}",
        "hook up to the {target} system within the session {d}",
        "set up a link to {target} within the session {d}",
    ),
    "integration_mapper": (
        "line the fields of {src} up with the layout of {target} over the connection ({d})",
        "translate {src} into the schema {target} uses, over the connection ({d})",
        "match the field names of {src} to the codes {target} expects, over the connection ({d})",
        "line the fields of {src} up with the layout of {target} ({d})",
        "match the field names of {src} to the codes {target} expects ({d})",
    ),
    "integration_queue": (
        "hand {src} off to the background workers on the {queue} queue {d}",
        "buffer {src} on the {queue} queue so nothing is lost in a spike {d}",
        "defer the heavy processing of {src} by putting it on the {queue} queue {d}",
    ),
    "integration_scheduler": (
        "have it happen automatically on a timetable: {d}",
        "make the run repeat {d}",
        "set up a recurring run {d}",
        "have {src} processed automatically on a timetable: {d}",
        "make the processing of {src} repeat {d}",
        "set up a recurring run for {src}, {d}",
    ),
    "utility_logger": (
        "keep an audit trail of the result {d}",
        "leave a permanent record of the result for compliance {d}",
        "note in the log what happened {d}",
        "keep an audit trail of {src} {d}",
        "leave a permanent record of {src} for compliance {d}",
        "note {src} in the log {d}",
    ),
    "utility_cache": (
        "keep {src} handy for reuse{d}",
        "keep {src} around to avoid an expensive repeat{d}",
        "spare the source repeat requests by keeping {src} for reuse{d}",
    ),
    "utility_tracker": (
        "record a progress milestone for it {d}",
        "keep tabs on its status with a progress event {d}",
        "follow how far the work has progressed {d}",
        "record a progress milestone for {src} {d}",
        "keep tabs on {src} with a progress event {d}",
        "follow how far the work on {src} has progressed {d}",
    ),
    "utility_notifier": (
        "let the recipient know the result is in {d}",
        "ping the recipient with the outcome {d}",
        "tell the recipient that the work has finished {d}",
        "let the recipient know that {src} is in {d}",
        "ping the recipient with {src} as the outcome {d}",
        "let the recipient know {src} is in {d}",
        "ping the recipient with {src} {d}",
        "tell the recipient about {src} {d}",
    ),
    "utility_helper": (
        "{d}",
        "work out {d} of {src}",
        "produce {d} from {src}",
        "derive {d} from {src}",
    ),
}

# very_hard: each step as the outcome it leaves behind, in plain words (no tool vocabulary).
_VH: dict[str, tuple[str, ...]] = {
    "data_processing_parser": ("{src} turned from a raw dump into usable rows ({fmt})",
                               "structured entries extracted from {src} ({fmt})"),
    "data_processing_transformer": ("the figures in {src} brought in line with house conventions ({d})",
                                    "{src} reshaped into normalised records ({d})"),
    "data_processing_filter": ("{src} narrowed down to what matters: the entries where {d}",
                               "only the relevant entries of {src} kept: those where {d}"),
    "data_processing_validator": ("the quality of {src} checked before it is used ({d})",
                                  "{src} confirmed to meet the rules ({d})"),
    "data_processing_aggregator": ("{src} rolled up into headline numbers: {d}", "totals per segment produced from {src}: {d}"),
    "file_operations_reader": ("the {subject} loaded from the file kept on disk at the source path",
                               "the {subject} opened from storage at the source path"),
    "file_operations_reader@listed": ("the listed file loaded from the folder", "the file the listing found, opened"),
    "file_operations_writer": ("{src} saved as results to a file at the output path{d}",
                               "a copy of {src} left where others can find it, at the output path{d}"),
    "file_operations_scanner": ("the {fmt} uploads waiting in the source folder listed",
                                "stock taken of the {fmt} files that arrived in the source directory"),
    "file_operations_converter": ("{src} switched to the open standard {d}", "the format of {src} changed to {d}"),
    "file_operations_compressor": ("{src} shrunk for storage with {d}", "{src} packed tightly for archiving with {d}"),
    "network_fetcher": ("the latest data pulled from the provider's remote service at the source URL{d}",
                        "the feed downloaded from the provider at the source URL{d}"),
    "network_poster": ("{src} handed over to the partner's API at the endpoint{d}",
                       "{src} submitted as a batch to the external platform at the endpoint{d}"),
    "network_monitor": ("an eye kept on whether the service behind {src} stays up, checked {d}",
                        "the health of the service behind {src} checked {d}"),
    "network_router": ("the traffic of {src} spread across regional backends: {d}",
                       "the requests of {src} steered to the right region: {d}"),
    "network_validator": ("{src} verified as a response that can be trusted", "{src} confirmed to honour its contract"),
    "computation_calculator": ("{d}, computed as a figure from {src}", "the exact amount derived from {src}: {d}"),
    "computation_analyzer": ("the patterns in {src} found: {d}", "what drives the figures in {src} understood: {d}"),
    "computation_predictor": ("{d} forecast from {src} ahead of planning", "a forecast of {d} made from {src} ahead of planning"),
    "computation_optimizer": ("the best plan chosen from {src}, one that {d}", "the best plan within the constraints chosen from {src}, one that {d}"),
    "computation_simulator": ("{src} stress-tested under {d}", "how things would fare with {src} under {d}, seen on paper"),
    "integration_authenticator": ("a login to the {service} platform with the stored credential",
                                  "clearance to use {service}, proved with the stored credential"),
    "integration_connector": ("a live line opened into the back-office system {target} within the session {d}",
                              "a link set up to the {target} system within the session {d}"),
    "integration_mapper": ("the fields of {src} lined up with the layout of {target} over the connection ({d})",
                           "{src} translated into the schema {target} uses, over the connection ({d})"),
    "integration_queue": ("{src} handed off to the background workers on the {queue} queue {d}",
                          "{src} buffered on the {queue} queue so nothing is lost in a spike {d}"),
    "integration_scheduler": ("{src} processed automatically on a timetable: {d}", "a recurring run set for {src}, {d}"),
    "utility_logger": ("an audit trail of {src} kept in the log {d}", "{src} noted in the log, a permanent record for compliance {d}"),
    "utility_cache": ("{src} kept handy for reuse{d}", "{src} kept around to avoid an expensive repeat{d}"),
    "utility_tracker": ("a milestone recorded for {src} {d}", "tabs kept on the status of {src} with a progress event {d}"),
    "utility_notifier": ("the recipient pinged with {src} as the outcome {d}", "the recipient told that the result, {src}, is in {d}"),
    "utility_helper": ("{d} for {src}",),
}

# How a description refers back to the output of an earlier step when "it" could mean two handles.
_REF: dict[str, str] = {
    "file_operations_reader": "the file's content", "file_operations_scanner": "the file list",
    "network_fetcher": "the downloaded data", "integration_authenticator": "the session",
    "data_processing_parser": "the parsed records", "data_processing_transformer": "the transformed records",
    "data_processing_filter": "the filtered records", "data_processing_validator": "the checked records",
    "data_processing_aggregator": "the summary", "file_operations_writer": "the saved file",
    "file_operations_converter": "the converted content", "file_operations_compressor": "the archive",
    "network_poster": "the endpoint's receipt", "network_monitor": "the status report",
    "network_router": "the routed response", "network_validator": "the verified response",
    "computation_calculator": "the computed figure", "computation_analyzer": "the findings",
    "computation_predictor": "the forecast", "computation_optimizer": "the optimised plan",
    "computation_simulator": "the simulation results", "integration_connector": "the connection",
    "integration_mapper": "the mapped records", "integration_queue": "the queued messages",
    "integration_scheduler": "the scheduled job", "utility_logger": "the log entry", "utility_cache": "the cached copy",
    "utility_tracker": "the progress event", "utility_notifier": "the notification", "utility_helper": "the derived value",
}

# The settings each tool's step states and the scorer compares (the rest are free).
_CHECKED: dict[str, tuple[str, ...]] = {
    "file_operations_scanner": ("pattern",),
    "data_processing_parser": ("format",),
    "data_processing_transformer": ("operations",),
    "data_processing_filter": ("condition",),
    "data_processing_validator": ("rules",),
    "data_processing_aggregator": ("group_by", "metric", "field"),
    "file_operations_converter": ("target_format",),
    "file_operations_compressor": ("algorithm",),
    "network_monitor": ("interval_seconds",),
    "network_router": ("destination", "strategy"),
    "computation_calculator": ("expression",),
    "computation_analyzer": ("analysis_type", "columns"),
    "computation_predictor": ("target", "horizon"),
    "computation_optimizer": ("objective", "constraints"),
    "computation_simulator": ("scenario", "runs"),
    "integration_mapper": ("mapping",),
    "integration_scheduler": ("cron", "timezone"),
    "utility_helper": ("operation",),
    "file_operations_writer": ("mode",),
    "integration_connector": ("protocol",),
    "integration_queue": ("priority",),
    "utility_logger": ("level",),
    "utility_cache": ("ttl_seconds",),
    "utility_tracker": ("event",),
    "utility_notifier": ("channel",),
}

# How a few settings are said in words.
_WRITE_MODES = {"overwrite": "replacing any file already there", "append": "appending to the file already there",
                "create": "as a new file, never over an existing one"}
_PROTOCOL_WORDS = {"https": "HTTPS", "grpc": "gRPC", "sftp": "SFTP", "amqp": "AMQP"}
_TTL_WORDS = {900: "for 15 minutes", 3600: "for an hour", 21600: "for six hours", 86400: "for a day"}
_CHANNEL_WORDS = {"email": "by email", "slack": "on Slack", "sms": "by SMS", "webhook": "through a webhook"}


# What each type of handle is called when a medium/hard description refers back to it.
_NOUN: dict[str, str] = {
    "raw": "the content", "records": "the records", "summary": "the summary", "file_list": "the file list",
    "file": "the saved file", "archive": "the archive", "response": "the response", "session": "the session",
    "connection": "the connection", "number": "the figure", "analysis": "the findings", "forecast": "the forecast",
    "optimum": "the plan", "simulation": "the simulation results", "status": "the status report",
    "queued": "the queued messages", "job": "the job", "log": "the log entry", "event": "the event",
    "notification": "the notification", "value": "the value",
}

_CRONS = (
    ("30 2 * * *", "every night at 02:30"),
    ("10 1 * * *", "every night at 01:10"),
    ("0 7 * * 1-5", "at 07:00 on weekdays"),
    ("0 */4 * * *", "every four hours"),
    ("0 5 1 * *", "at 05:00 on the first of each month"),
    ("45 23 * * 0", "every Sunday at 23:45"),
    ("0 */6 * * *", "every six hours"),
    ("20 6 * * 2", "every Tuesday at 06:20"),
)
_LIMITS = (
    ("budget", "max", (25000, 40000, 80000)),
    ("capacity", "max", (120, 400, 950)),
    ("headcount", "max", (12, 25, 40)),
    ("service_level", "min", (0.9, 0.95, 0.98)),
    ("stock_cover_days", "min", (5, 10, 14)),
)
_SCENARIOS = (
    ("demand_shift", (-0.1, 0.15, -0.05, 0.2)),
    ("price_shock", (0.1, 0.2, 0.3)),
    ("cost_increase", (0.08, 0.12, 0.05)),
    ("volume_drop", (0.15, 0.3, 0.1)),
    ("delay_rate", (0.1, 0.25)),
    ("rate_rise", (0.02, 0.05)),
)
_TIMEZONES = ("Europe/Berlin", "America/Chicago", "Asia/Singapore", "Europe/London", "UTC")
_METRIC_WORDS = {"sum": "the total {f}", "avg": "the average {f}", "max": "the highest {f}", "min": "the lowest {f}"}
_ANALYSIS_WORDS = {
    "descriptive": "a descriptive summary of {cols}",
    "correlation": "how {cols} move together",
    "trend": "the trend in {cols}",
    "anomaly": "unusual values in {cols}",
}

_DESTINATIONS: dict[str, tuple[str, ...]] = {
    "file_operations_writer": ("saved as a file at the output path", "saved where others can find the result"),
    "utility_notifier": ("sent to {recipient}", "in the inbox of {recipient}"),
    "network_poster": ("handed over to the partner's API", "submitted to the partner platform"),
    "integration_queue": ("queued for the background workers", "handed off to the background workers"),
    "integration_scheduler": ("refreshed automatically {cron}", "set to run on its own {cron}"),
    "file_operations_compressor": ("saved and packed into a compressed archive", "archived in compressed form"),
    "utility_logger": ("recorded in the audit log", "on record in the run log for compliance"),
    "utility_tracker": ("with a progress milestone recorded", "with its progress tracked"),
    "utility_cache": ("kept handy for reuse", "kept for reuse so nobody recomputes it"),
    "utility_helper": ("with {helper}", "labelled with {helper}"),
    "network_monitor": ("and to know whether the service stays healthy", "with the service's health watched"),
    "network_router": ("routed on to the {region} region", "steered to the {region} backends"),
    "network_validator": ("checked to be trustworthy", "verified before anyone relies on it"),
    "integration_mapper": ("lined up with the layout of {target}", "translated into the schema of {target}"),
    "integration_connector": ("", ""),
}
_HELPER_WORDS = {"hash": "a content fingerprint", "generate_id": "a unique reference", "slugify": "a URL-friendly label"}

_VE_FRAMES = (
    "{goal}. Follow these steps in order:\n{steps}\nThen give your final answer, reporting the handle returned by step {n}.",
    "{goal}. Do exactly this:\n{steps}\nFinish with a final answer whose result is the handle from step {n}.",
    "{goal}. The steps are:\n{steps}\nWhen step {n} has succeeded, reply with a final answer that reports its handle.",
)
_EASY_FRAMES = (
    "{goal}. Use these tools in this order: {tools}. Pass each result on by its handle and report the final handle.",
    "{goal}. Call {tools}, in that order, giving each step the handles it needs; then report the handle of the last result.",
    "{goal}. The tools for this are {tools}, used in that order. Report the final step's handle when you are done.",
)
_MEDIUM_FRAMES = (
    "{goal}. {Steps_then}. Report the handle of the final result.",
    "{goal}. First {steps_semi}. Your final answer must give the handle the last step returned.",
    "{goal}: {steps_comma}, passing each result on by its handle. Then report the final handle.",
)
_HARD_FRAMES = (
    "{goal}. Along the way you will need to {steps_then}. Report the handle of the final result.",
    "{goal}. The work, in order: {steps_semi}. Give the final handle in your answer.",
    "{goal}. In sequence, you need to {steps_comma}. When everything is done, report the final handle.",
)
_VERY_HARD_FRAMES = (
    "By the end, the {team} should have, one after the other: {outcomes}.",
    "What the {team} asked for, in this order: {outcomes}. Work out how to get there.",
    "The {team} should end up with the following, in order: {outcomes}.",
)
_GOAL_FRAMES = (
    "Get the {team} {outcome}{source}",
    "Prepare {outcome}{source} for the {team}",
    "Provide the {team} with {outcome}{source}",
)

_ROLE_TAKES = {
    "source_path": "the source file (`source_path`)",
    "source_directory": "the source directory (`source_directory`)",
    "source_url": "the source URL (`source_url`)",
    "service": "the service (`service`)",
    "credential": "the credential (`credential`)",
    "endpoint": "posting to the endpoint (`endpoint`)",
    "target_system": "connecting to the target system (`target_system`)",
    "recipient": "sending to the recipient (`recipient`)",
    "queue_name": "onto the queue (`queue_name`)",
    "output_path": "writing to the output path (`output_path`)",
}
