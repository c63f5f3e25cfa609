# hashline triage — English. Every id here must exist in km.ftl too (a test checks).
skip-to-content = Skip to content
nav-label = Main
nav-queue = Review queue
nav-audit = Audit log
nav-users = Accounts
nav-lists = Lists
nav-ops = Operations
lang-switch = Language
logout = Sign out
back-home = Back to the start page
role-operator = operator
role-analyst = analyst
role-supervisor = supervisor
role-admin = administrator
exposure-today = Reveals today: { $n } of { $cap } · about { $min } min

login-title = Sign in
login-intro = hashline review for hotline analysts. Media stays blurred until you choose to reveal it.
login-name = Account name
login-password = Password
login-submit = Sign in
login-failed = Wrong account name or password.
login-locked = Too many failed sign-ins. Wait a few minutes and try again, or ask an administrator.

queue-title = Review queue
queue-intro = Near matches waiting for a person, oldest first. Claim a case to work it; nobody else can open it while you hold it.
queue-filters = Filters
queue-claim-next = Claim next case
queue-empty = Nothing waits for review. Thank you.
queue-count = { $n ->
    [one] One case
   *[other] { $n } cases
}
queue-pages = Pages
queue-page = Page { $page } of { $pages }
queue-prev = ← Older page
queue-next = Newer page →
queue-open = Open
queue-claim = Claim
filter-all = all
filter-escalated = Escalated only
filter-apply = Filter
col-case = Case
col-waiting = Waiting
col-lists = List
col-class = Class
col-distance = Distance
col-platform = Platform
col-status = Status
col-action = Action
col-list = List
col-version = Version
col-entry = Entry
col-signal = Signal
col-dihedral = Orientation
col-value = Listed hash
col-when = When
col-why = Related by
col-state = State
col-actor = Who
col-target = Object
col-detail = Detail
col-name = Name
col-role = Role
col-created = Created
col-kind = Kind
col-source = Publisher
col-entries = Entries
col-updated = Updated
col-signed = Signed by
status-yours = yours
status-claimed-by = claimed by { $name }
status-waiting = waiting
status-escalated = escalated
age-minutes = { $n ->
    [one] 1 minute
   *[other] { $n } minutes
}
age-hours = { $n ->
    [one] 1 hour
   *[other] { $n } hours
}
age-days = { $n ->
    [one] 1 day
   *[other] { $n } days
}

case-title = Case
case-claimed-until = Yours until
case-escalated-by = Escalated by { $name }: { $note }
case-media = Media
case-no-media = No copy of the media was preserved for this case.
case-media-no-key = A copy of the media was preserved, but this server cannot open it. Ask an administrator to configure the evidence key.
case-media-no-key-admin = A copy of the media was preserved, but hashline serve has no evidence key: set [evidence] key_file or HASHLINE_EVIDENCE_KEY and restart it.
case-media-blurred-alt = Blurred greyscale preview of the reported media
case-video-frames = Matched frames of the video (stills; the video is not played)
case-frame-at = { $t } s
case-media-revealed-alt = The reported media, revealed
case-media-undecodable = The preserved media could not be shown as a picture.
case-reveal = Reveal media
reveal-note = Revealing is logged and counts toward your daily exposure ({ $n } of { $cap } used today).
case-revealed-note = Revealed in greyscale. The reveal is logged. Hide the picture as soon as you have decided.
case-colour = Colour
case-hide = Hide
break-title = Time for a break
break-text = You have reached today's exposure limit. Media stays blurred for the rest of the day. Step away, talk to someone, and come back tomorrow. You can still decide cases from their match evidence.
case-decide = Decision
confirm-legal = Assessment
legal-baseline = Baseline (illegal in every country)
legal-national = National (illegal under Cambodian law)
legal-not-illegal = Not illegal
confirm-class = Industry class
class-none = None
case-confirm = Confirm and report
dismiss-reason = Why it is a false positive (optional)
dismiss-allow = Add this upload's hashes to the allow-list
case-dismiss = False positive
escalate-note = Note for the supervisor
case-escalate = Escalate
case-release = Release case
case-assign-to = Assign to
case-assign = Assign
keys-title = Keyboard shortcuts
keys-text = r reveal · g colour · h hide · 1 baseline · 2 national · 3 not illegal · 4–7 class A1, A2, B1, B2 · 0 no class · c confirm · x false positive · e escalate · u release · n next case · ? this help
case-matches = Match evidence
case-upload = Upload
case-file = File
case-related = Earlier matches of this uploader or hash
case-related-none = No earlier matches.
field-upload-id = Upload id
field-platform = Platform
field-uploaded-at = Uploaded
field-detected-at = Detected
field-source-url = Address
field-account = Account
field-screen-name = Screen name
field-ip = IP address
field-file-name = File name
field-file-location = Found at (path — scanned folder)
field-size = Size (bytes)
field-type = Type
field-dimensions = Dimensions
field-md5 = MD5
field-sha1 = SHA-1
field-sha256 = SHA-256
field-pdq = PDQ
field-pdq-quality = PDQ quality
related-same-uploader = same uploader
related-same-file = same file
related-same-entry = same list entry
state-pending = confirmed, to deliver
state-review = in review
state-delivered = delivered
state-parked = refused by the hotline
state-dismissed = false positive
state-relayed = relayed

audit-title = Audit log
audit-verified = The chain of { $n } records verifies: nothing was changed or removed.
audit-tampered = THE AUDIT LOG DOES NOT VERIFY:

users-title = Accounts
users-add = Add account
users-password-again = Password again
user-active = active
user-disabled = disabled
user-set-role = Set role
user-enable = Enable
user-disable = Disable

lists-title = Lists
lists-intro = The lists in force. Import and sign lists with `hashline lists import`.
list-kind-known = known material
list-kind-allow = allow-list

ops-title = Operations
ops-reports = Reports by state
ops-service = Service
ops-lists-loaded = Lists loaded
ops-sessions = Signed-in sessions
ops-metrics = Prometheus metrics

flash-confirmed = Confirmed. The report joins the delivery queue.
flash-dismissed = Dismissed as a false positive.
flash-escalated = Escalated to a supervisor.
flash-released = Released. The case is back in the queue.
flash-assigned = Assigned.
flash-claimed-elsewhere = Someone else holds that case, or your claim lapsed.
flash-queue-empty = No case is free to claim.
flash-not-in-review = That case was already decided.
flash-allow-added = Dismissed, and the upload's hashes were added to the allow-list.
flash-allow-failed = Dismissed, but the allow-list could not be changed (see the audit log); ask an administrator.
flash-user-added = Account added.
flash-user-changed = Account changed; its sessions were ended.

error-title = Something stopped
error-signed-out = Your session ended. Sign in again.
error-bad-form = The form could not be read. Reload the page and try again.
error-csrf = This form is out of date or did not come from hashline. Reload the page and try again.
error-forbidden = Your role does not allow this.
error-internal = Something went wrong on the server. It has been logged; try again or tell an administrator.
error-no-case = There is no such case.
error-choose-legal = Choose an assessment.
error-choose-class = Choose an industry class (a class is needed unless the media is not illegal).
error-no-analyst = Cases can only go to an active analyst, supervisor or administrator.
error-passwords-differ = The two passwords differ.
error-not-yourself = Ask another administrator to change your own account.
error-user-name = Use 1–64 letters, digits, '.', '_' or '-' for an account name.
error-user-exists = An account with that name exists.
error-user-missing = There is no such account.
error-user-weak = The password needs at least { $n } characters (a passphrase of a few words is easiest).
error-user-role = Choose analyst, supervisor, admin or operator.

# Allow-list proposals (supervisors)
nav-allow = Allow-list proposals
allow-title = Allow-list proposals
allow-explain = An analyst who dismissed a case proposed its hashes for the allow-list { $list }. Approving adds them scoped to the list entries the case matched, suppressing only within { $distance } bits of the dismissed upload: the listed picture and its exact copies still match. You cannot decide your own proposal.
allow-none = No proposal is waiting.
allow-own = Your proposal: another supervisor decides it.
allow-approve = Approve
allow-reject = Reject
col-proposed-by = Proposed by
col-reason = Reason
col-decision = Decision
flash-allow-proposed = Dismissed. Adding the upload's hashes to the allow-list waits for a supervisor's approval.
flash-allow-rejected = Rejected: nothing was added to the allow-list.
flash-allow-not-pending = That proposal was already decided, or it is your own.
nav-stats = Statistics
stats-title = Statistics
stats-intro = Aggregate figures of a period for the hotline's management and council: what was detected, from which platforms, of which classes, how fast it was reviewed and delivered, and how much analysts were exposed. No hash, file, upload, report or account appears; counts from 1 to 4 are shown as "< 5". Each report made is recorded in the audit log.
stats-from = From
stats-to = To (included)
stats-format = Format
stats-language = Language of the report
stats-per-analyst = Workload per analyst, by name (administrators only)
stats-make = Make the report
stats-bad-period = The period is not valid: give two dates (YYYY-MM-DD), the second not before the first, at most about ten years apart.

nav-quarantine = Quarantined entries
quarantine-title = Quarantined list entries
quarantine-explain = A list entry that suddenly matches far more uploads than before (a meme, a logo, a blank frame listed by mistake) is quarantined: its matches, and its reports that were waiting for delivery, wait here for review and are not sent. Look at a few of its cases (blurred until you reveal them). Lift the quarantine if the entry is right: its reports go back to the usual rules. Disable the entry if it is wrong: it matches nothing from the next list reload, also after list updates, and its reports stay in review to be dismissed.
quarantine-none = No list entry has been quarantined.
quarantine-col-state = State
quarantine-col-uploads = Uploads (at quarantine)
quarantine-col-seen = First and last match
quarantine-col-held = Reports held
quarantine-state-quarantined = Quarantined
quarantine-state-lifted = Lifted
quarantine-state-disabled = Disabled
quarantine-lift = Lift quarantine
quarantine-disable = Disable entry
flash-quarantine-lifted = Quarantine lifted: the held reports follow the usual rules again.
flash-quarantine-disabled = Entry disabled: it matches nothing from the next list reload; its reports stay in review.
flash-quarantine-missing = That entry is not quarantined (any more).
