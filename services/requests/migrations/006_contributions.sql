-- Article 2: the contributions that fall due while a plan runs.

-- What debt says of each current period's contributions (principal), with the affiliate's position:
-- [[period, due, outstanding, paid_on], ...] for the periods after the programme's opening month.
ALTER TABLE debt_position ADD COLUMN contributions jsonb NOT NULL DEFAULT '[]';

-- A period unpaid after its grace: the notice given, its cure deadline, and when it was paid.
CREATE TABLE contributions_notice (
    request_id    uuid           NOT NULL REFERENCES request (id),
    period        text           NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    amount        numeric(16, 2) NOT NULL CHECK (amount > 0),
    due_on        date           NOT NULL,
    noticed_on    date           NOT NULL,
    cure_deadline date           NOT NULL CHECK (cure_deadline >= noticed_on),
    cured_on      date,
    PRIMARY KEY (request_id, period)
);

-- The sweep looks at each running plan once per day it is run as of.
ALTER TABLE request ADD COLUMN contributions_checked_on date;
CREATE INDEX request_paying ON request (id) WHERE state IN ('VALIDATED', 'IN_PROGRESS');
