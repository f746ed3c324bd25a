"""PostgreSQL tables (SQLAlchemy 2.0 typed declarative) and the queries on them.

Importing this package registers every table on `Base.metadata` (Alembic relies on it).
"""

from models.base import Base
from models.bot import BotStream
from models.care import AccessEntry, ConsultationShare, DoctorProfile, ShareMode, SymptomEntry
from models.links import LinkToken, ServiceLink
from models.messages import Message
from models.notifications import Notification
from models.quizzes import Answer, Attempt, Difficulty, Question, Quiz, Subject
from models.rooms import MemberRole, Membership, Room, RoomKind
from models.study import BoardVersion, Phase, QuizSession, SessionAnswer
from models.tokens import RevokedToken
from models.users import Role, User

__all__ = [
    "AccessEntry",
    "Answer",
    "Attempt",
    "Base",
    "BoardVersion",
    "BotStream",
    "ConsultationShare",
    "Difficulty",
    "DoctorProfile",
    "LinkToken",
    "MemberRole",
    "Membership",
    "Message",
    "Notification",
    "Phase",
    "Question",
    "Quiz",
    "QuizSession",
    "RevokedToken",
    "Role",
    "Room",
    "RoomKind",
    "ServiceLink",
    "SessionAnswer",
    "ShareMode",
    "Subject",
    "SymptomEntry",
    "User",
]
