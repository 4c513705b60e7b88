"""dropbox: files seen in the watched folder and what became of them

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 07:20:33.910963
"""
import sqlalchemy as sa
from alembic import op

import store.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dropbox_file',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('group_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('path', sa.String(length=4096), nullable=False),
    sa.Column('current', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('size', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('mtime_ns', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('state', sa.String(length=16), server_default='pending', nullable=False),
    sa.Column('fileset_head', sa.String(length=4096), nullable=True),
    sa.Column('companions', sa.JSON(), nullable=True),
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('image_ids', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('changed_at', store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_at', store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created', store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated', store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['experimenter_group.id'], name=op.f('fk_dropbox_file_group_id_experimenter_group'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_dropbox_file_job_id_job'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['experimenter.id'], name=op.f('fk_dropbox_file_owner_id_experimenter'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dropbox_file'))
    )
    with op.batch_alter_table('dropbox_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dropbox_file_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dropbox_file_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_dropbox_file_owner_sha256', ['owner_id', 'sha256'], unique=False)
        batch_op.create_index('ix_dropbox_file_path_current', ['path', 'current'], unique=False)
        batch_op.create_index(batch_op.f('ix_dropbox_file_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('dropbox_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dropbox_file_state'))
        batch_op.drop_index('ix_dropbox_file_path_current')
        batch_op.drop_index('ix_dropbox_file_owner_sha256')
        batch_op.drop_index(batch_op.f('ix_dropbox_file_owner_id'))
        batch_op.drop_index(batch_op.f('ix_dropbox_file_job_id'))

    op.drop_table('dropbox_file')
